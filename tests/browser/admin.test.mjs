// The city officer's screens in a real browser against the real server and
// the sandbox provider: the city's totals of this month, a store a merchant
// registered verified in the page (then suspended and reinstated), a store
// featured on the home page from the page, and a buyer's complaint resolved
// in the page. The tests build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, settled, finish, screenshot, PHONE, DESKTOP } from './lib/browser.mjs';
import { paidCharge, paidOrder, rerender, checkScreens, signedInPage } from './audit-activity.mjs';

let server;
let sandbox;
let browser;
let warung;
let pending;   // a store its merchant registered, waiting for the city
let order;     // an order its buyer complained about

before(async () => {
	({ server, sandbox } = await startWithSandbox());
	const base = server.url;
	warung = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti', products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk' }] });
	const siti = await login(base, 'siti', 'siti-password');
	await paidCharge(base, sandbox, siti, warung.store.id, 200000);

	await registerUser(base, 'ani', 'ani-password-1', 'merchant');
	pending = await expect(base, 201, 'POST', '/api/v1/merchants', { token: await login(base, 'ani', 'ani-password-1'),
		body: { name: 'Keripik Bu Ani', city: 'PAYAKUMBUH', postal_code: '26211', criteria: 'UMI', nmid: 'ID1020021181746', category: 'makanan' } });

	// Budi buys, the store delivers by its own means, and Budi complains.
	await registerUser(base, 'budi', 'budi-password-1');
	const budi = await login(base, 'budi', 'budi-password-1');
	const group = await paidOrder(base, sandbox, budi, [{ product_id: warung.products[0].id, quantity: 1 }], 'admin-order-1');
	const id = group.order_ids[0];
	const admin = await login(base, ADMIN.username, ADMIN.password);
	await expect(base, 200, 'POST', `/api/v1/orders/${id}/confirm`, { token: siti });
	await expect(base, 200, 'POST', `/api/v1/orders/${id}/ship`, { token: siti });
	await expect(base, 200, 'POST', `/api/v1/orders/${id}/deliver`, { token: admin });
	order = await expect(base, 200, 'POST', `/api/v1/orders/${id}/complaint`, { token: budi, body: { reason: 'Rendangnya basi' } });
	assert.equal(order.state, 'disputed');
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

const adminPage = (hash, name, viewport = PHONE) => signedInPage(browser, server, ADMIN, hash, name, viewport);

test('the desk shows this month\'s totals of the city', async () => {
	const page = await adminPage('#/', 'home');
	await page.click('#nav-admin');
	await settled(page, 'admin');
	const figure = async (name) => (await page.textContent(`#city-totals [data-figure="${name}"] .big`)).trim();
	assert.equal(await figure('payments'), '2');
	assert.equal(await figure('payments_value'), 'Rp245.000');
	const rows = await page.$$eval('table.city-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
	assert.deepEqual(rows.slice(0, 3), [['Pembayaran', '2', 'Rp245.000'], ['Di toko', '1', 'Rp200.000'], ['Daring', '1', 'Rp45.000']]);
	await finish(page, PHONE, 'admin-desk-phone');
});

test('a pending store is listed, verified in the page, then suspended and reinstated', async () => {
	const page = await adminPage('#/admin/stores', 'admin-stores');
	assert.deepEqual(await page.$$eval('#stores-verified .admin-store', (els) => els.map((e) => e.dataset.storeId)), [String(warung.store.id)]);
	const waiting = `#stores-pending .admin-store[data-store-id="${pending.id}"]`;
	assert.equal(await page.getAttribute(waiting, 'data-status'), 'pending');
	assert.match(await page.textContent(waiting), /Keripik Bu Ani.*Menunggu verifikasi/);
	await screenshot(page, 'admin-store-pending-phone');
	await rerender(page, 'admin-stores', () => page.click(`${waiting} .store-verify`));
	const card = `#store-found .admin-store[data-store-id="${pending.id}"]`;
	assert.equal(await page.getAttribute(card, 'data-status'), 'verified');
	assert.equal(await page.$$eval('#stores-pending .admin-store', (els) => els.length), 0, 'no longer waiting');
	assert.equal((await expect(server.url, 200, 'GET', `/api/v1/merchants/${pending.id}`)).status, 'verified', 'the public sees it now');
	assert.ok(await page.isVisible(`#stores-verified .admin-store[data-store-id="${pending.id}"]`));

	await rerender(page, 'admin-stores', () => page.click(`${card} .store-suspend`));
	assert.equal(await page.getAttribute(card, 'data-status'), 'suspended');
	await rerender(page, 'admin-stores', () => page.click(`${card} .store-reinstate`));
	assert.equal(await page.getAttribute(card, 'data-status'), 'verified');
	await page.fill('#store-id', String(warung.store.id));
	await rerender(page, 'admin-stores', () => page.click('form.store-lookup button[type="submit"]'));
	assert.equal(await page.getAttribute(`#store-found .admin-store[data-store-id="${warung.store.id}"]`, 'data-status'), 'verified');
	await finish(page, PHONE, 'admin-store-verified-phone');
});

test('a verified store is featured on the home page from the page, and stops being', async () => {
	const page = await adminPage(`#/admin/stores?id=${warung.store.id}`, 'admin-stores');
	const card = `#store-found .admin-store[data-store-id="${warung.store.id}"]`;
	assert.equal(await page.$$eval(`#stores-pending .store-feature`, (els) => els.length), 0, 'a pending store has no such button');
	await rerender(page, 'admin-stores', () => page.click(`${card} .store-feature`));
	assert.equal(await page.textContent(`${card} .store-featured`), 'Pilihan');
	assert.ok(await page.isVisible(`${card} .store-unfeature`));
	const featured = await expect(server.url, 200, 'GET', '/api/v1/merchants?featured=true');
	assert.deepEqual(featured.items.map((s) => s.id), [warung.store.id]);
	await page.goto('/#/');
	await settled(page, 'home');
	assert.deepEqual(await page.$$eval('#home-stores + ul .store-card', (els) => els.map((e) => e.dataset.storeId)), [String(warung.store.id)]);
	await screenshot(page, 'admin-store-featured-home-phone');

	await page.goto(`/#/admin/stores?id=${warung.store.id}`);
	await settled(page, 'admin-stores');
	await rerender(page, 'admin-stores', () => page.click(`${card} .store-unfeature`));
	assert.ok(await page.isVisible(`${card} .store-feature`));
	assert.equal((await expect(server.url, 200, 'GET', '/api/v1/merchants?featured=true')).items.length, 0);
});

test('a complaint is resolved in the page, releasing the money to the store', async () => {
	const page = await adminPage('#/admin/complaints', 'admin-complaints');
	assert.equal(await page.textContent('#complaint-count'), '1');
	const card = `#complaints .complaint[data-order-id="${order.id}"]`;
	assert.equal((await page.textContent(`${card} .complaint-reason`)).trim(), 'Rendangnya basi');
	// A partial refund needs an amount: a wrong one is refused in the page.
	await page.check(`${card} input[value="partial_refund"]`);
	await page.fill(`#refund-${order.id}`, 'separuh');
	await page.click(`${card} form.resolve-form button[type="submit"]`);
	assert.match(await page.textContent(`${card} [role="alert"]`), /Tulis jumlah dalam rupiah/);
	await screenshot(page, 'admin-complaint-phone');

	await page.check(`${card} input[value="release"]`);
	await page.fill(`#resolve-reason-${order.id}`, 'Sudah dicek: barang sesuai');
	await rerender(page, 'admin-complaints', () => page.click(`${card} form.resolve-form button[type="submit"]`));
	assert.equal(await page.getAttribute('#resolved', 'data-order-id'), String(order.id));
	assert.match(await page.textContent('#resolved'), /Selesai/);
	assert.equal(await page.textContent('#complaint-count'), '0');
	const admin = await login(server.url, ADMIN.username, ADMIN.password);
	const after = await expect(server.url, 200, 'GET', `/api/v1/orders/${order.id}`, { token: admin });
	assert.equal(after.state, 'completed');
	assert.equal(after.timeline.at(-1).note, 'Sudah dicek: barang sesuai');
	await finish(page, PHONE, 'admin-complaint-resolved-phone');
});

for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
	test(`the city officer's screens at ${label} width`, async () => {
		const screens = [
			['#/admin', 'admin', ['#city-totals', 'table.city-table', '#admin-stores', '#admin-complaints']],
			[`#/admin/stores?id=${pending.id}`, 'admin-stores', ['#store-id', '#store-found .admin-store', '#stores-verified']],
			[`#/admin/complaints?order=${order.id}`, 'admin-complaints', ['#order-id', '#order-found .complaint', '#complaint-count']],
		];
		const page = await adminPage('#/', 'home', viewport);
		await checkScreens(page, screens, viewport, label);
		await finish(page, viewport, `admin-screens-${label}`);
	});
}
