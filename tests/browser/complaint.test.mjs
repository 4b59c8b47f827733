// A shopper's complaint in a real browser: a delivered order offers it on the
// order page; a blank reason is refused in the page; the complaint sent moves
// the order to disputed and shows "under review" with the reason; once a city
// officer resolves it, the page shows it decided, with the officer's note.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { paidOrder } from './lib/orders.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, openPage, settled, signIn, finish, PHONE, DESKTOP } from './lib/browser.mjs';

let server;
let sandbox;
let browser;
const budi = { username: 'budi', password: 'budi-password-1' };
const state = {};

before(async () => {
	({ server, sandbox } = await startWithSandbox());
	const base = server.url;
	const { store, products } = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti',
		products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk', weight_g: 500 }] });
	await registerUser(base, budi.username, budi.password);
	state.buyer = await login(base, budi.username, budi.password);
	const order = await paidOrder(base, sandbox, { token: state.buyer, storeId: store.id, key: 'complaint-order',
		items: [{ product_id: products[0].id, quantity: 1 }] });
	// The store delivers by its own means; the city's officer records the delivery.
	const owner = await login(base, 'siti', 'siti-password');
	state.admin = await login(base, ADMIN.username, ADMIN.password);
	await expect(base, 200, 'POST', `/api/v1/orders/${order.id}/confirm`, { token: owner });
	await expect(base, 200, 'POST', `/api/v1/orders/${order.id}/ship`, { token: owner });
	await expect(base, 200, 'POST', `/api/v1/orders/${order.id}/deliver`, { token: state.admin });
	state.order = order;
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

const complaintHash = () => `#/orders/${state.order.id}/complaint`;

test('a delivered order offers a complaint; a blank reason is refused; one sent is under review', async () => {
	const page = await openPage(browser, server);
	await signIn(page, budi, `#/orders/${state.order.id}`, 'order');
	assert.equal(await page.textContent('#to-complaint'), 'Ajukan keluhan');
	await page.click('#to-complaint');
	await settled(page, 'complaint');
	await page.fill('#reason', '   ');
	await page.click('#complaint-form button[type="submit"]');
	assert.equal(await page.getAttribute('#complaint-form [role="alert"]', 'data-code'), 'local_reason');
	await page.fill('#reason', 'Rendangnya basi');
	await page.click('#complaint-form button[type="submit"]');
	await page.waitForSelector('#complaint[data-state="open"]');
	await settled(page, 'complaint');
	assert.equal(await page.textContent('#complaint-reason'), 'Rendangnya basi');
	assert.equal(await page.textContent('#complaint-state'), 'Sedang ditinjau');
	assert.equal(await page.$('#complaint-form'), null);
	const order = await expect(server.url, 200, 'GET', `/api/v1/orders/${state.order.id}`, { token: state.buyer });
	assert.equal(order.state, 'disputed');
	assert.equal(order.complaint, 'Rendangnya basi');
	await finish(page, PHONE, 'complaint-open');

	const back = await openPage(browser, server);
	await signIn(back, budi, `#/orders/${state.order.id}`, 'order');
	assert.equal(await back.getAttribute('main .badge', 'data-state'), 'disputed');
	assert.equal(await back.textContent('#to-complaint'), 'Lihat keluhan');
	assert.equal(await back.$('#receive'), null);
	await finish(back, PHONE, 'complaint-order');
});

test('the city officer\'s decision shows on the complaint, with the note', async () => {
	await expect(server.url, 200, 'POST', `/api/v1/orders/${state.order.id}/resolve`, { token: state.admin,
		body: { outcome: 'release', reason: 'Toko sudah mengganti barangnya' } });
	for (const [viewport, suffix] of [[PHONE, 'phone'], [DESKTOP, 'desktop']]) {
		const page = await openPage(browser, server, viewport);
		await signIn(page, budi, complaintHash(), 'complaint');
		assert.equal(await page.getAttribute('#complaint', 'data-state'), 'resolved');
		assert.equal(await page.textContent('#complaint-state'), 'Sudah diputuskan');
		assert.match(await page.textContent('#complaint .timeline'), /Dikomplain: Rendangnya basi.*Selesai: Toko sudah mengganti barangnya/s);
		await finish(page, viewport, `complaint-${suffix}`);
	}
});
