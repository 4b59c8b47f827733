// A city courier's journey (courier.gateway = local) in a real browser: a
// shopper buys from two stores in the page with the city's couriers and pays
// (the sandbox's e-wallet), both merchants confirm in the page, so two jobs
// are open; the courier sets up
// a profile, sees the jobs nearest first (no phones), takes the nearer one
// (the job page then offers to call the store and the buyer), finds it among
// their jobs on another device, steps it to the buyer, enters a wrong PIN (the
// error shows) and then the buyer's; the
// shopper confirms receipt in the page; the courier's earnings show the fee,
// and a payout asked for in the page appears in the list and completes.
// The tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { waitFor, SHIP_TO } from './lib/orders.mjs';
import { addToCart, askRates } from './lib/shop.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, openPage, settled, signIn, finish, errorAlert, screenshot, PHONE, DESKTOP } from './lib/browser.mjs';
import { formatRupiah } from '../../web/js/format.js';

let server;
let sandbox;
let browser;
const rizal = { username: 'rizal', password: 'rizal-password-1' };
const budi = { username: 'budi', password: 'budi-password-1' };
const near = { lat_e6: -223000, lng_e6: 100633000 };   // the courier and Siti's store, in Payakumbuh
const SITI_PHONE = '081234567890';
const state = {};  // what one step leaves for the next

before(async () => {
	// The city's tariff above the smallest payout, so the fee can be paid out.
	({ server, sandbox } = await startWithSandbox(['--set', 'courier.gateway=local', '--set', 'courier.local_flat=15000']));
	const base = server.url;
	const admin = await login(base, ADMIN.username, ADMIN.password);
	await expect(base, 201, 'POST', '/api/v1/users', { token: admin, body: { ...rizal, role: 'courier' } });
	await registerUser(base, budi.username, budi.password);
	state.buyer = await login(base, budi.username, budi.password);
	const stores = [
		{ owner: 'udin', name: 'Kopi Pak Udin', details: { address: 'Jl. Soekarno-Hatta 5', phone: '081299990000', lat_e6: -300000, lng_e6: 100700000 },
			products: [{ title: 'Kopi Kawa Daun', price: 8000, category: 'minuman', weight_g: 250 }] },
		{ owner: 'siti', name: 'Warung Bu Siti', details: { address: 'Jl. Sudirman 12', phone: SITI_PHONE, lat_e6: -223100, lng_e6: 100633100 },
			products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk', weight_g: 500 }] },
	];
	state.stores = [];
	for (const s of stores)
		state.stores.push({ owner: { username: s.owner, password: `${s.owner}-password` }, store: (await seedStore(base, s)).store });
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

// The browser logs every failed request: drops those of the statuses the
// step expects (a courier's profile is 404 until made; a wrong PIN is 422).
function expectFailed(page, ...statuses) {
	const expected = (p) => statuses.some((s) => p.includes(`status of ${s} `));
	page.problems.splice(0, page.problems.length, ...page.problems.filter((p) => !expected(p)));
}

// Both widths of the current screen: no sideways scrolling, the key elements there.
async function bothWidths(hash, name, keys, shot) {
	for (const [viewport, suffix] of [[PHONE, 'phone'], [DESKTOP, 'desktop']]) {
		const page = await openPage(browser, server, viewport);
		await signIn(page, rizal, hash, name);
		for (const key of keys) assert.equal(await page.isVisible(key), true, `${shot} ${suffix}: ${key}`);
		assert.doesNotMatch(await page.textContent('main'), /\bnull\b|undefined|\[object/, `${shot} ${suffix}: stray text`);
		expectFailed(page, 404);
		await finish(page, viewport, `${shot}-${suffix}`);
	}
}

test('the shopper buys from both stores in the page with the city\'s couriers, and the payment lands', async () => {
	const page = await openPage(browser, server);
	await signIn(page, budi, '#/search', 'search');
	await addToCart(page, 'Kopi Kawa Daun', 1);
	await addToCart(page, 'Rendang Sapi', 1);
	await page.click('#nav-cart');
	await settled(page, 'cart');
	await page.click('#to-checkout');
	await settled(page, 'checkout');
	await askRates(page, SHIP_TO);
	// Each store's first rate is picked: the city's couriers (never "the store itself").
	for (const { store } of state.stores) {
		const picked = page.locator(`fieldset[data-store-id="${store.id}"] input:checked`);
		assert.notEqual(await picked.getAttribute('data-courier'), 'own');
		assert.ok(Number(await picked.getAttribute('data-price')) >= 15000);
	}
	await screenshot(page, 'courier-checkout');
	await page.click('#place-order');
	await settled(page, 'pay');
	const payment = await page.getAttribute('.payment-panel', 'data-payment-id');
	await sandbox.pay(payment); // the shopper's e-wallet
	await page.waitForSelector('.payment-panel[data-status="paid"]');
	await finish(page, PHONE, 'courier-paid');
});

test('both merchants confirm their paid orders in the page, which offers them to the city\'s couriers', async () => {
	// The far store's first, so "nearest first" is the API's order, not the shipments'.
	state.orders = [];
	for (const { owner, store } of state.stores) {
		const page = await openPage(browser, server);
		await signIn(page, owner, `#/merchant/${store.id}/orders`, 'shop-orders');
		const card = page.locator('.waiting .shop-order');
		assert.equal(await card.count(), 1);
		const order = { id: Number(await card.getAttribute('data-order-id')) };
		assert.match(await card.textContent(), /Budi, Payakumbuh/);
		await screenshot(page, `courier-merchant-${owner.username}-waiting`);
		await card.locator('button.confirm').click();
		await page.waitForSelector(`.shop-order[data-order-id="${order.id}"] .badge[data-state="confirmed"]`);
		await settled(page, 'shop-orders');
		assert.equal(await page.textContent('#waiting-count'), '0');
		// A courier delivers it: nothing for the store to mark as sent.
		assert.equal(await page.$(`.shop-order[data-order-id="${order.id}"] button.ship`), null);
		await finish(page, PHONE, `courier-merchant-${owner.username}-confirmed`);
		state.orders.push(await waitFor(server.url, state.buyer, `/api/v1/orders/${order.id}`, (o) => o.state === 'confirmed' && o.shipment_id));
	}
	state.order = state.orders[1]; // Siti's: the near one
});

test('a courier without a profile is asked for one, and sets it up', async () => {
	const page = await openPage(browser, server);
	await signIn(page, rizal, '#/courier', 'courier');
	assert.equal(await page.isVisible('#profile-missing'), true);
	assert.equal(await page.isVisible('#nav-courier'), true);
	await page.click('#profile-missing a');
	await settled(page, 'courier-profile');
	assert.equal(await page.isVisible('#profile-new'), true);
	await page.fill('#name', 'Uda Rizal');
	await page.fill('#phone', '08127770001');
	await page.fill('#plate', 'ba 1234 xy');
	await page.fill('#bank_code', 'BRI');
	await page.fill('#bank_account', '9876543210');
	await page.fill('#bank_name', 'Rizal');
	await page.click('#profile-form button[type="submit"]');
	await settled(page, 'courier');
	assert.equal(await page.$('#profile-missing'), null);
	const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('bangsoleh.session')).token);
	const profile = await expect(server.url, 200, 'GET', '/api/v1/courier/profile', { token });
	assert.equal(profile.plate, 'BA 1234 XY', 'the plate is sent in capitals');
	assert.equal(profile.bank_account, '9876543210');
	expectFailed(page, 404);
	await finish(page, PHONE, 'courier-setup');
	await bothWidths('#/courier/profile', 'courier-profile', ['#profile-form', '#name', '#bank_account'], 'courier-profile');
});

test('open jobs come nearest first; the courier takes the near one and steps it to the buyer', async () => {
	const page = await openPage(browser, server);
	await signIn(page, rizal, `#/courier?lat_e6=${near.lat_e6}&lng_e6=${near.lng_e6}`, 'courier');
	const ids = await page.$$eval('#open-jobs > li', (els) => els.map((e) => e.dataset.shipmentId));
	assert.deepEqual(ids, [state.order.shipment_id, state.orders[0].shipment_id]);
	assert.equal(await page.textContent('#open-count'), '2');
	assert.match(await page.textContent('#open-jobs > li:first-child .distance'), /^\d+ m dari Anda$/);
	assert.match(await page.textContent('#open-jobs > li:last-child .distance'), /^\d+,\d km dari Anda$/);
	const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('bangsoleh.session')).token);
	const jobs = await expect(server.url, 200, 'GET', '/api/v1/courier/jobs', { token });
	assert.ok(jobs.jobs.every((j) => !('phone' in j.pickup) && !('phone' in j.drop)), 'open jobs show no phones');
	await page.click('#open-jobs > li:first-child button.accept');
	await settled(page, 'courier-job');
	// Taken: the store's and the buyer's phones, to call.
	assert.equal(await page.getAttribute('#call-store', 'href'), `tel:${SITI_PHONE}`);
	assert.equal(await page.getAttribute('#call-buyer', 'href'), `tel:${SHIP_TO.phone}`);
	assert.equal(await page.textContent('#call-store'), 'Telepon toko');
	assert.equal(await page.textContent('#call-buyer'), 'Telepon pembeli');
	await screenshot(page, 'courier-job-calls');
	for (const step of ['picking_up', 'picked', 'in_transit']) {
		assert.equal(await page.getAttribute('#next-step', 'data-step'), step);
		await page.click('#next-step');
		await page.waitForSelector(`article.courier-job[data-state="${step}"]`);
		await settled(page, 'courier-job');
	}
	await page.goto('/#/courier');
	await settled(page, 'courier');
	assert.equal(await page.$$eval('#my-jobs > li', (els) => els.length), 1);
	assert.equal(await page.isVisible('#my-jobs-more'), false, 'one job: no next page');
	assert.equal(await page.textContent('#open-count'), '1');
	expectFailed(page, 404);
	await finish(page, PHONE, 'courier-jobs-mine');
	// Other devices (browser contexts of their own, nothing stored) list the job from the API.
	await bothWidths('#/courier', 'courier', [`#my-jobs > li[data-shipment-id="${state.order.shipment_id}"]`, '#open-jobs',
		'#open-count', '#locate', '#nav-earnings'], 'courier-jobs');
});

test('a wrong PIN shows an error with the tries left; the buyer\'s PIN delivers', async () => {
	const order = await expect(server.url, 200, 'GET', `/api/v1/orders/${state.order.id}`, { token: state.buyer });
	assert.equal(order.state, 'shipped');
	const pin = order.delivery_pin;
	assert.match(pin, /^\d{6}$/);
	const wrong = pin.slice(0, 5) + String((Number(pin[5]) + 1) % 10);
	const page = await openPage(browser, server);
	await signIn(page, rizal, `#/courier/job/${state.order.shipment_id}`, 'courier-job');
	assert.equal(await page.textContent('.job-to'), 'Antar ke Budi, Jl. Ahmad Yani 1, kode pos 26213');
	await page.fill('#pin', '12ab');
	await page.click('#deliver');
	assert.equal(await page.$eval('#pin', (el) => el.validity.valid), false, 'the browser keeps a malformed PIN from being sent');
	await page.fill('#pin', wrong);
	await page.click('#deliver');
	const alert = await errorAlert(page, '.form-status');
	assert.equal(await alert.getAttribute('data-code'), 'wrong_pin');
	assert.equal(await alert.getAttribute('data-tries-left'), '4');
	assert.equal((await alert.textContent()).trim(), 'PIN salah. Sisa 4 kali coba sebelum antaran ditahan.');
	await screenshot(page, 'courier-pin-wrong');
	await page.fill('#pin', pin);
	await page.click('#deliver');
	await page.waitForSelector('article.courier-job[data-state="delivered"]');
	await settled(page, 'courier-job');
	assert.equal(await page.isVisible('#delivered-note'), true);
	assert.equal(await page.$('#pin-form'), null);
	expectFailed(page, 422);
	await finish(page, PHONE, 'courier-job-delivered');
	await waitFor(server.url, state.buyer, `/api/v1/orders/${state.order.id}`, (o) => o.state === 'delivered');
});

test('the shopper confirms receipt and sees the courier; the fee reaches the courier\'s earnings', async () => {
	const shopper = await openPage(browser, server);
	await signIn(shopper, budi, `#/orders/${state.order.id}`, 'order');
	assert.match(await shopper.textContent('main'), /Uda Rizal/);
	await shopper.click('#receive');
	await shopper.waitForSelector('.badge[data-state="completed"]');
	await finish(shopper, PHONE, 'courier-receipt-confirmed');

	const page = await openPage(browser, server);
	await signIn(page, rizal, '#/courier/earnings', 'earnings');
	const fee = state.order.shipping_fee;
	assert.ok(fee >= 15000, `fee ${fee}`);
	const rp = formatRupiah(fee);
	assert.equal(await page.textContent('#balance-available'), rp);
	const row = page.locator('#statement tr[data-reason="shipping"]');
	assert.equal(await row.count(), 1);
	assert.equal(await row.locator('.amount').textContent(), rp);
	assert.equal(await page.textContent('#opening td:nth-child(3)'), 'Rp0');
	assert.equal(await page.isVisible('#no-payouts'), true);
	state.fee = fee;
	state.rp = rp;
	await finish(page, PHONE, 'courier-earnings');
});

test('a payout over the available money is refused in the page; one within it is listed and completes', async () => {
	const page = await openPage(browser, server);
	await signIn(page, rizal, '#/courier/earnings', 'earnings');
	await page.fill('#payout-amount', String(state.fee + 1));
	await page.click('#payout-form button[type="submit"]');
	assert.equal(await page.getAttribute('#payout-form [role="alert"]', 'data-code'), 'local_over');
	await page.fill('#payout-amount', state.rp);
	await page.click('#payout-form button[type="submit"]');
	await page.waitForSelector('#payouts > li');
	await settled(page, 'earnings');
	assert.equal(await page.textContent('#payouts > li .price'), state.rp);
	assert.match(await page.getAttribute('#payouts > li', 'data-status'), /^(processing|completed)$/);
	const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('bangsoleh.session')).token);
	await waitFor(server.url, token, '/api/v1/courier/payouts', (b) => b.payouts[0]?.status === 'completed');
	await page.reload();
	await settled(page, 'earnings');
	assert.equal(await page.getAttribute('#payouts > li', 'data-status'), 'completed');
	assert.equal(await page.textContent('#payouts > li .badge'), 'Berhasil');
	assert.equal(await page.textContent('#balance-available'), 'Rp0');
	assert.deepEqual(await page.$$eval('#statement tr[data-seq]', (els) => els.map((e) => `${e.dataset.reason}/${e.dataset.kind}`)),
		['payout/posted', 'payout/held', 'shipping/transfer']);
	await finish(page, PHONE, 'courier-payout');
	await bothWidths('#/courier/earnings', 'earnings', ['#balance', '#payout-form', '#payouts', '#statement'], 'courier-earnings');
	await bothWidths(`#/courier/job/${state.order.shipment_id}`, 'courier-job', ['article.courier-job', '.timeline', '#call-store', '#call-buyer'], 'courier-job');
});
