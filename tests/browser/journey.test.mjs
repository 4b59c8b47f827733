// The buying journey in a real browser against the real server and the
// sandbox provider: a merchant registers a store in the page, an admin
// verifies it in the page, the merchant lists two products; a shopper buys
// from two stores, pays through the sandbox's Pay button and watches the page
// turn to paid without a reload, and checks the receipt's ledger proof; both
// merchants confirm their orders (one goes with a courier company, the other
// store delivers itself: it marks the order sent, the city officer marks it
// delivered); the shopper confirms receipt; another order is rejected; an
// in-store charge is paid while the merchant watches; the auditor sees the
// payments in the journal and the latest checkpoint verified.
// The tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { paidOrder, waitFor, SHIP_TO } from './lib/orders.mjs';
import { addToCart, askRates } from './lib/shop.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, openPage, settled, signIn, screenshot as save, visit, PHONE, DESKTOP } from './lib/browser.mjs';

let server;
let sandbox;
let browser;
let kopi;          // the second store, seeded through the API
const siti = { username: 'siti', password: 'siti-password-1' };
const budi = { username: 'budi', password: 'budi-password-1' };
const udin = { username: 'udin', password: 'udin-password' }; // lib/seed.mjs's owner password
const rina = { username: 'rina', password: 'rina-password-1' }; // the auditor
const state = {};  // what one step leaves for the next: the store, the group, the order

before(async () => {
	// Checkpoints every second, so a receipt's proof is signed within the test.
	// Shipments move only when the test moves them.
	({ server, sandbox } = await startWithSandbox(['--set', 'audit.checkpoint_interval=1'], { sandboxArgs: ['--ship-step-ms', '0'] }));
	kopi = await seedStore(server.url, {
		owner: 'udin', name: 'Kopi Pak Udin', category: 'minuman',
		details: { address: 'Jl. Soekarno-Hatta 5', phone: '081299990000' },
		products: [{ title: 'Kopi Kawa Daun', price: 8000, category: 'minuman', weight_g: 250 }],
	});
	await registerUser(server.url, budi.username, budi.password);
	const admin = await login(server.url, ADMIN.username, ADMIN.password);
	await expect(server.url, 201, 'POST', '/api/v1/users', { token: admin, body: { ...rina, role: 'auditor' } });
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

const text = async (page, selector) => (await page.textContent(selector)).trim();

// Nothing may be wider than the screen (phone width unless said).
async function screenshot(page, name, viewport = PHONE) {
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	assert.ok(width <= viewport.width, `${name}: the page is ${width} px wide`);
	await save(page, name);
}

// Reloads page once the courier company's report moved the order (as the
// page's session sees it through the API) to orderState.
async function reloadWhen(page, id, orderState) {
	await page.waitForFunction(async ([order, want]) => {
		const { token } = JSON.parse(sessionStorage.getItem('bangsoleh.session'));
		const r = await fetch(`/api/v1/orders/${order}`, { headers: { Authorization: `Bearer ${token}` } });
		return (await r.json()).state === want;
	}, [id, orderState], { polling: 200 });
	await page.reload();
}

// Ends a page: it logged no error (but the 409 not_yet_signed the receipt
// page answers by looking again: the browser logs every failed request).
async function done(page) {
	assert.deepEqual(page.problems.filter((p) => !/status of 409/.test(p)), []);
	await page.context().close();
}

// On the receipt page: waits (the proof may not be signed yet; the page looks
// again by itself) for the verdict, which must be "verified" with every check passed.
async function receiptVerified(page) {
	await page.waitForSelector('#verdict', { timeout: 20000 });
	assert.equal(await page.getAttribute('#verdict', 'data-verdict'), 'verified', await text(page, 'main'));
	assert.equal(await page.$$eval('.checks .bad', (els) => els.length), 0);
	assert.ok(await page.$$eval('.checks li', (els) => els.length) >= 6);
}

test('a merchant registers a store, the city verifies it, and the merchant lists two products', async () => {
	const page = await visit(browser, server, '#/register', 'register');
	await page.fill('#username', siti.username);
	await page.fill('#password', siti.password);
	await page.selectOption('#role', 'merchant');
	await page.click('form.register-form button[type="submit"]');
	await settled(page, 'home');
	await page.click('#nav-merchant');
	await settled(page, 'merchant');
	assert.equal(await text(page, 'main .empty'), 'Anda belum punya toko.');
	for (const [field, value] of [['name', 'Warung Bu Siti'], ['category', 'makanan'], ['address', 'Jl. Sudirman 12'],
		['city', 'PAYAKUMBUH'], ['postal_code', '26211'], ['phone', '081234567890'], ['nmid', 'ID1020021181745']])
		await page.fill(`#store-${field}`, value);
	await page.selectOption('#store-criteria', 'UMI');
	await page.click('form.store-form button[type="submit"]');
	await settled(page, 'shop');
	assert.equal(await page.getAttribute('main .badge', 'data-status'), 'pending');
	assert.equal(await text(page, 'main .badge'), 'Menunggu verifikasi');
	assert.equal(await page.isVisible('#shop-charge'), false, 'no charges before verification');
	await screenshot(page, 'journey-store-pending');
	state.store = Number(await page.getAttribute('main .shop', 'data-store-id'));

	// The city officer verifies it on the stores' screen.
	const officer = await openPage(browser, server);
	await signIn(officer, ADMIN, '#/admin/stores', 'admin-stores');
	const waiting = `#stores-pending .admin-store[data-store-id="${state.store}"]`;
	assert.match(await text(officer, waiting), /Warung Bu Siti.*Menunggu verifikasi/);
	await screenshot(officer, 'journey-admin-store-pending');
	await officer.click(`${waiting} .store-verify`);
	await officer.waitForSelector(`#store-found .admin-store[data-store-id="${state.store}"][data-status="verified"]`);
	await settled(officer, 'admin-stores');
	assert.equal(await officer.$(waiting), null, 'no longer waiting');
	await screenshot(officer, 'journey-admin-store-verified');
	await done(officer);
	await page.reload();
	await settled(page, 'shop');
	assert.equal(await text(page, 'main .badge'), 'Terverifikasi');

	for (const p of [{ title: 'Rendang Sapi', price: '45.000', stock: '10', weight: '500', category: 'lauk' },
		{ title: 'Gulai Tunjang', price: '12500', stock: '4', weight: '400', category: 'lauk' }]) {
		await page.click('#new-product');
		await settled(page, 'product-form');
		await page.fill('#title', p.title);
		await page.fill('#price', p.price);
		await page.fill('#stock', p.stock);
		await page.fill('#weight_g', p.weight);
		await page.fill('#category', p.category);
		await page.click('form.product-form button[type="submit"]');
		await settled(page, 'shop');
	}
	const rows = await page.$$eval('.products-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].slice(0, 4).map((c) => c.textContent)));
	assert.deepEqual(rows, [['Gulai Tunjang', 'Rp12.500', '4', 'Ya'], ['Rendang Sapi', 'Rp45.000', '10', 'Ya']]);

	// Edit: the stock of the rendang.
	await page.click('.products-table tbody tr:last-child a');
	await settled(page, 'product-form');
	assert.equal(await page.inputValue('#price'), '45000');
	await page.fill('#stock', '12');
	await page.click('form.product-form button[type="submit"]');
	await settled(page, 'shop');
	assert.equal(await text(page, '.products-table tbody tr:last-child .stock'), '12');
	await screenshot(page, 'journey-store-products');
	await done(page);
});

test('a shopper buys from two stores, pays through the sandbox, and the page turns to paid by itself', async () => {
	const page = await openPage(browser, server);
	await signIn(page, budi, '#/search', 'search');
	// Two rendang and one gulai from Warung Bu Siti, one coffee from Kopi Pak Udin.
	for (const [title, qty] of [['Rendang Sapi', 2], ['Gulai Tunjang', 1], ['Kopi Kawa Daun', 1]])
		await addToCart(page, title, qty);
	assert.equal(await text(page, '#cart-count'), '4');
	await page.click('#nav-cart');
	await settled(page, 'cart');
	assert.deepEqual(await page.$$eval('.cart-store h2', (els) => els.map((e) => e.textContent)), ['Warung Bu Siti', 'Kopi Pak Udin']);
	assert.equal(await text(page, '#cart-total'), 'Rp110.500'); // 2 × 45.000 + 12.500 + 8.000
	await screenshot(page, 'journey-cart');

	await page.click('#to-checkout');
	await settled(page, 'checkout');
	await askRates(page, SHIP_TO);
	// SiCepat for the warung (8,000 + 9 per km × 1 km + 8,000 per extra kg: 1.4 kg → 16,009), the store's own delivery for the coffee.
	await page.check(`fieldset[data-store-id="${state.store}"] input[data-courier="sicepat-reg"]`);
	await page.check(`fieldset[data-store-id="${kopi.store.id}"] input[data-courier="own"]`);
	const fee = Number(await page.getAttribute(`fieldset[data-store-id="${state.store}"] input[data-courier="sicepat-reg"]`, 'data-price'));
	assert.ok(Number.isSafeInteger(fee) && fee > 0);
	const total = 110500 + fee;
	assert.equal(await text(page, '#checkout-total'), `Rp${total.toLocaleString('de-DE')}`);
	await screenshot(page, 'journey-checkout');
	await page.click('#place-order');
	await settled(page, 'pay');
	state.group = (/#\/pay\/([0-9a-f]{32})$/.exec(page.url()) ?? [])[1];
	assert.ok(state.group, 'the payment page of the order group');
	assert.equal(await text(page, '#cart-count'), '0', 'the cart is emptied');

	const panel = page.locator('.payment-panel');
	assert.equal(await panel.getAttribute('data-status'), 'pending');
	assert.equal(await text(page, '.pay-amount'), `Rp${total.toLocaleString('de-DE')}`);
	assert.deepEqual(await page.$$eval('.pay-stores .merchant-name', (els) => els.map((e) => e.textContent)), ['Warung Bu Siti', 'Kopi Pak Udin']);
	assert.match(await text(page, '.countdown'), /^Sisa waktu 1[45]:\d\d \(sampai \d{1,2} \w{3} \d{4} \d\d\.\d\d WIB\)$/);
	await page.waitForFunction(() => document.querySelector('img.qr')?.naturalWidth > 0);
	await screenshot(page, 'journey-pay-qr');
	const paymentId = await panel.getAttribute('data-payment-id');
	state.payment = paymentId;

	// The sandbox's own page, in another tab: its Pay button for this payment.
	await page.evaluate(() => { window.stillTheSamePage = true; });
	const provider = await browser.newPage();
	await provider.goto(sandbox.url);
	await provider.click(`tr:has(td:text-is("${paymentId}")) button`);
	await provider.waitForURL(`${sandbox.url}/`);
	await provider.close();

	await page.waitForSelector('.payment-panel[data-status="paid"]');
	assert.equal(await text(page, '.pay-status'), 'Lunas');
	assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'no reload');
	assert.equal(await page.isVisible('img.qr'), false, 'the QR is gone once paid');
	await screenshot(page, 'journey-pay-paid');

	await page.click('#to-orders');
	await settled(page, 'orders');
	const states = await page.$$eval('.order-card .badge', (els) => els.map((e) => e.dataset.state));
	assert.deepEqual(states, ['paid', 'paid']);
	const listed = await page.$$eval('.order-card', (els) => els.map((e) => Number(e.dataset.orderId)));
	assert.deepEqual(listed, [...listed].sort((a, b) => b - a), 'newest first');
	assert.equal(await page.isVisible('#orders-more'), false, 'one page');
	state.order = Number(await page.getAttribute(`.order-card:has-text("Rp${(90000 + 12500 + fee).toLocaleString('de-DE')}")`, 'data-order-id'));
	assert.ok(state.order > 0);
	state.own = listed.find((id) => id !== state.order); // the coffee, which its store delivers
	state.total = total;

	await page.click(`.order-card[data-order-id="${state.order}"] a`);
	await settled(page, 'order');
	assert.match(await text(page, '.timeline'), /Menunggu pembayaran[\s\S]*Dibayar/);
	await page.click('#to-receipt');
	await settled(page, 'receipt');
	await receiptVerified(page);
	assert.equal(await text(page, '.receipt .price'), `Rp${total.toLocaleString('de-DE')}`);
	await screenshot(page, 'journey-receipt');
	await done(page);
});

test('the merchant sees the order waiting, confirms it, and the shopper sees it tracked', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, `#/merchant/${state.store}`, 'shop');
	assert.equal(await text(page, '#waiting-count'), '1');
	await page.click('#shop-orders');
	await settled(page, 'shop-orders');
	const card = page.locator(`.waiting .shop-order[data-order-id="${state.order}"]`);
	assert.match(await card.textContent(), /Rendang Sapi × 2[\s\S]*Gulai Tunjang × 1[\s\S]*Budi, Payakumbuh[\s\S]*SiCepat Reguler/);
	await screenshot(page, 'journey-merchant-orders');
	await card.locator('button.confirm').click();
	// The list is drawn again once the API confirmed it: the order moves out of the waiting ones.
	await page.waitForSelector(`.shop-order[data-order-id="${state.order}"] .badge[data-state="confirmed"]`);
	await settled(page, 'shop-orders');
	assert.equal(await text(page, '#waiting-count'), '0');
	await screenshot(page, 'journey-merchant-confirmed');
	await done(page);

	const shopper = await openPage(browser, server);
	await signIn(shopper, budi, `#/orders/${state.order}`, 'order');
	assert.equal(await shopper.getAttribute('main .badge', 'data-state'), 'confirmed');
	assert.match(await text(shopper, 'main'), /Kurir: SiCepat Reguler/);
	assert.match(await shopper.$$eval('.timeline', (els) => els.map((e) => e.textContent).join('|')), /Dikonfirmasi toko\|.*Menunggu kurir/);

	// The courier company picks the parcel up: the order is shipped, with its waybill and driver.
	const [shipment] = await sandbox.shipmentsAtLeast(1);
	await sandbox.moveShipment(shipment.id, 'picked');
	await reloadWhen(shopper, state.order, 'shipped');
	await settled(shopper, 'order');
	assert.equal(await shopper.getAttribute('main .badge', 'data-state'), 'shipped');
	assert.match(await text(shopper, 'main'), /Nomor resi: SBX\d{12}/);
	assert.match(await shopper.$$eval('.timeline', (els) => els.map((e) => e.textContent).join('|')), /Dikirim\|.*Diambil kurir/);
	await screenshot(shopper, 'journey-order-tracking');

	// Delivered: the shopper confirms receipt in the page, which completes the order.
	await sandbox.moveShipment(shipment.id, 'delivered');
	await reloadWhen(shopper, state.order, 'delivered');
	await settled(shopper, 'order');
	await shopper.click('#receive');
	await shopper.waitForSelector('main .badge[data-state="completed"]');
	assert.equal(await shopper.isVisible('#receive'), false);
	assert.match(await shopper.$$eval('.timeline', (els) => els.map((e) => e.textContent).join('|')), /Sampai.*Selesai\|.*Sampai tujuan/);
	await screenshot(shopper, 'journey-order-received');
	await done(shopper);
});

test('the other store confirms its order, delivers it itself and marks it sent; the city marks it delivered', async () => {
	const page = await openPage(browser, server);
	await signIn(page, udin, `#/merchant/${kopi.store.id}/orders`, 'shop-orders');
	const card = page.locator(`.waiting .shop-order[data-order-id="${state.own}"]`);
	assert.match(await card.textContent(), /Kopi Kawa Daun × 1[\s\S]*Budi, Payakumbuh[\s\S]*Diantar sendiri oleh toko/);
	await card.locator('button.confirm').click();
	const sent = page.locator(`.shop-order[data-order-id="${state.own}"]:has(.badge[data-state="confirmed"]) button.ship`);
	await sent.waitFor();
	await settled(page, 'shop-orders');
	assert.equal(await text(page, '#waiting-count'), '0');
	assert.equal(await sent.textContent(), 'Sudah dikirim');
	await screenshot(page, 'journey-merchant-own-confirmed');
	await sent.click();
	await page.waitForSelector(`.shop-order[data-order-id="${state.own}"] .badge[data-state="shipped"]`);
	await settled(page, 'shop-orders');
	assert.equal(await page.$(`.shop-order[data-order-id="${state.own}"] button.ship`), null, 'sent once');
	await screenshot(page, 'journey-merchant-own-shipped');
	await done(page);

	// The city officer opens the order by its number and marks it delivered.
	const officer = await openPage(browser, server);
	await signIn(officer, ADMIN, '#/admin/complaints', 'admin-complaints');
	await officer.fill('#order-id', String(state.own));
	await officer.click('form.order-lookup button[type="submit"]');
	const found = `#order-found .complaint[data-order-id="${state.own}"]`;
	await officer.waitForSelector(`${found}[data-state="shipped"] button.order-deliver`);
	await screenshot(officer, 'journey-admin-order-shipped');
	await officer.click(`${found} button.order-deliver`);
	await officer.waitForSelector(`${found}[data-state="delivered"]`);
	await settled(officer, 'admin-complaints');
	assert.equal(await officer.$(`${found} button.order-deliver`), null);
	await screenshot(officer, 'journey-admin-order-delivered');
	await done(officer);

	const shopper = await openPage(browser, server);
	await signIn(shopper, budi, `#/orders/${state.own}`, 'order');
	await shopper.click('#receive');
	await shopper.waitForSelector('main .badge[data-state="completed"]');
	assert.match(await shopper.$$eval('.timeline', (els) => els.map((e) => e.textContent).join('|')), /Dikirim.*Sampai.*Selesai/);
	await screenshot(shopper, 'journey-own-received');
	await done(shopper);
});

test('the other store rejects an order with a reason, and the shopper sees it cancelled', async () => {
	// An order of its own, bought and paid through the API.
	const token = await login(server.url, budi.username, budi.password);
	await paidOrder(server.url, sandbox, { token, storeId: kopi.store.id, items: [{ product_id: kopi.products[0].id, quantity: 1 }], key: 'journey-reject' });
	const page = await openPage(browser, server);
	await signIn(page, udin, `#/merchant/${kopi.store.id}/orders`, 'shop-orders');
	const card = page.locator('.waiting .shop-order');
	assert.equal(await card.count(), 1);
	const id = Number(await card.getAttribute('data-order-id'));
	await card.locator('button.secondary').click();
	await page.fill(`#reason-${id}`, 'Kopi sedang habis');
	await screenshot(page, 'journey-merchant-reject');
	await card.locator('form.reject-form button').click();
	await page.waitForSelector(`.shop-order[data-order-id="${id}"] .badge[data-state="cancelled"], .shop-order[data-order-id="${id}"] .badge[data-state="refunded"]`);
	assert.equal(await text(page, '#waiting-count'), '0');
	await done(page);

	const shopper = await openPage(browser, server);
	await signIn(shopper, budi, `#/orders/${id}`, 'order');
	assert.match(await shopper.getAttribute('main .badge', 'data-state'), /^(cancelled|refunded)$/);
	assert.match(await text(shopper, '.timeline'), /Dibatalkan: Kopi sedang habis/);
	await done(shopper);
});

test('an in-store charge turns to paid on the merchant\'s screen', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, `#/merchant/${state.store}`, 'shop');
	await page.click('#shop-charge');
	await settled(page, 'charge');
	await page.fill('#amount', '25,5');
	await page.click('form.charge-form button[type="submit"]');
	assert.equal(await text(page, '.form-status .form-error'), 'Jumlah harus angka rupiah bulat, Rp1 sampai Rp10.000.000.');
	await page.fill('#amount', '25.000');
	await page.click('form.charge-form button[type="submit"]');
	await page.waitForSelector('.payment-panel[data-status="pending"]');
	assert.equal(await text(page, '.pay-amount'), 'Rp25.000');
	await page.waitForFunction(() => document.querySelector('img.qr')?.naturalWidth > 0);
	await screenshot(page, 'journey-charge-qr');
	const paymentId = await page.getAttribute('.payment-panel', 'data-payment-id');
	state.charge = paymentId;
	await sandbox.pay(paymentId); // the customer's e-wallet
	await page.waitForSelector('.payment-panel[data-status="paid"]');
	assert.equal(await text(page, '.pay-status'), 'Lunas');
	// Today's charges below the form follow: the paid charge, with its receipt.
	const row = `#todays-charges .charge-row[data-payment-id="${paymentId}"]`;
	await page.waitForSelector(`${row}[data-status="paid"]`);
	assert.match(await text(page, row), /Rp25\.000/);
	assert.equal(await page.getAttribute(`${row} a.charge-receipt`, 'href'), `#/receipt/${paymentId}`);
	assert.match(await text(page, '#todays-paid'), /1 lunas, Rp25\.000/);
	await screenshot(page, 'journey-charge-paid');
	await page.click('#to-receipt');
	await settled(page, 'receipt');
	await receiptVerified(page);
	// The charge's entry is not the first of the tree: its proof has steps to walk.
	assert.match(await text(page, '.entries'), /bukti [1-9]\d* langkah/);
	await done(page);
});

test('the auditor sees the journey\'s payments in the journal and the latest checkpoint verified', async () => {
	const page = await openPage(browser, server);
	// The payments of the journal, whatever else the journey booked.
	await signIn(page, rina, '#/audit/journal?reason=payment', 'audit-journal');
	const entries = await page.$$eval('#journal .entry', (els) => els.map((e) => ({ seq: Number(e.dataset.seq), reason: e.dataset.reason,
		price: e.querySelector('.price').textContent, text: e.querySelector('.attribution').textContent })));
	const payments = entries.filter((e) => e.reason === 'payment');
	const rp = (n) => `Rp${n.toLocaleString('de-DE')}`;
	// The shopper's one payment for both stores' orders, and the in-store charge.
	const online = payments.find((e) => e.price === rp(state.total));
	assert.ok(online, JSON.stringify(payments));
	assert.match(online.text, /daring/);
	const stores = (/toko ([\d, ]+)/.exec(online.text)?.[1] ?? '').split(', ').map(Number);
	assert.deepEqual(stores.sort((a, b) => a - b), [state.store, kopi.store.id].sort((a, b) => a - b), online.text);
	const inStore = payments.find((e) => e.price === 'Rp25.000');
	assert.ok(inStore, JSON.stringify(payments));
	assert.match(inStore.text, new RegExp(`di toko.*toko ${state.store}\\b`));
	await screenshot(page, 'journey-audit-journal');

	// Checkpoints are signed every second: once one covers the charge's entry, the page checks it.
	const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('bangsoleh.session')).token);
	const latest = await waitFor(server.url, token, '/api/v1/audit/checkpoints/latest', (cp) => cp.tree_size >= inStore.seq);
	await page.click('.subnav a[href="#/audit/checkpoints"]');
	await settled(page, 'audit-checkpoints');
	assert.equal(await page.getAttribute('#latest-checkpoint', 'data-verdict'), 'verified', await text(page, 'main'));
	assert.ok(Number(await page.getAttribute('.checkpoint[data-number]', 'data-number')) >= latest.number);
	assert.equal(await page.getAttribute('#consistency', 'data-verdict'), 'verified');
	await screenshot(page, 'journey-audit-checkpoint');
	await done(page);
});

// Each screen of this slice at phone and desktop width, with its key elements.
for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
	test(`the shopper's and the merchant's screens at ${label} width`, async () => {
		const screens = [
			[budi, [
				['#/orders', 'orders', ['.order-card .badge', '#nav-orders']],
				[`#/orders/${state.order}`, 'order', ['main .badge', '.timeline', '.totals', '#to-receipt']],
				[`#/receipt/${state.payment}`, 'receipt', ['#verdict[data-verdict="verified"]', '.checks', '#public-key']],
				[`#/pay/${state.group}`, 'pay', ['.payment-panel:is([data-status="paid"], [data-status="partially_refunded"])', '#to-receipt']],
				['#/cart', 'cart', ['.cart-line', '#cart-total', '#to-checkout']],
				['#/checkout', 'checkout', ['form.address-form #ship-postal_code']],
			]],
			[siti, [
				['#/merchant', 'merchant', ['.my-stores .badge', 'form.store-form #store-nmid']],
				[`#/merchant/${state.store}`, 'shop', ['.products-table', '#waiting-count', '#shop-charge', '#new-product']],
				[`#/merchant/${state.store}/orders`, 'shop-orders', ['#waiting-count', '.shop-order .badge']],
				[`#/merchant/${state.store}/products/new`, 'product-form', ['#title', '#price', '#stock', '#active']],
				[`#/merchant/${state.store}/charge`, 'charge', ['#amount', 'form.charge-form button']],
			]],
		];
		for (const [who, list] of screens) {
			const page = await openPage(browser, server, viewport);
			await signIn(page, who, '#/', 'home');
			// A line in the cart (kept in localStorage) for the cart and checkout screens.
			await page.evaluate((p) => localStorage.setItem('bangsoleh.cart', JSON.stringify([p])),
				{ product_id: kopi.products[0].id, merchant_id: kopi.store.id, title: 'Kopi Kawa Daun', price: 8000, quantity: 3 });
			for (const [hash, name, keys] of list) {
				await page.goto(`/${hash}`);
				await settled(page, name);
				for (const key of keys) assert.ok(await page.isVisible(key), `${name}: ${key} is visible`);
				await screenshot(page, `screen-${name}-${label}`, viewport);
			}
			await done(page);
		}
	});
}
