// The delivery PIN on the buyer's order page, for an order the city's own
// couriers deliver (courier.gateway = local): the page shows the PIN the API
// gives the buyer, and never shows one to the store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { launch, openPage, signIn, finish, PHONE } from './lib/browser.mjs';

let server;
let sandbox;
let browser;

before(async () => {
	({ server, sandbox } = await startWithSandbox(['--set', 'courier.gateway=local']));
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

// A new page signed in as who, at hash.
async function pageAs(who, hash, name) {
	const page = await openPage(browser, server);
	await signIn(page, who, hash, name);
	return page;
}

test('the buyer sees the delivery PIN of a confirmed order; the store does not', async () => {
	const base = server.url;
	const { store, products } = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti',
		products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk', weight_g: 500 }] });
	const budi = { username: 'budi', password: 'budi-password-1' };
	await registerUser(base, budi.username, budi.password);
	const token = await login(base, budi.username, budi.password);
	const items = [{ product_id: products[0].id, quantity: 1 }];
	const rates = await expect(base, 200, 'POST', '/api/v1/shipping/rates', { body: { merchant_id: store.id, items, ship_to: { postal_code: '26213' } } });
	const res = await fetch(`${base}/api/v1/checkout`, { method: 'POST', headers: { Authorization: `Bearer ${token}`,
		'Content-Type': 'application/json', 'Idempotency-Key': 'pin-test' }, body: JSON.stringify({ items,
		ship_to: { name: 'Budi', phone: '08123456789', address: 'Jl. Ahmad Yani 1', city: 'Payakumbuh', postal_code: '26213' },
		shipping: { [store.id]: rates.rates[0].rate_token } }) });
	assert.equal(res.status, 201);
	const group = await res.json();
	await sandbox.pay(group.payment_id);
	const id = group.order_ids[0];
	let order;
	for (let i = 0; i < 100 && order?.state !== 'paid'; i++) {
		if (i) await new Promise((resolve) => setTimeout(resolve, 100));
		order = await expect(base, 200, 'GET', `/api/v1/orders/${id}`, { token });
	}
	// The store confirms: the job goes to the city's couriers, with its PIN.
	const siti = { username: 'siti', password: 'siti-password' }; // lib/seed.mjs's owner password
	await expect(base, 200, 'POST', `/api/v1/orders/${id}/confirm`, { token: await login(base, siti.username, siti.password) });
	order = await expect(base, 200, 'GET', `/api/v1/orders/${id}`, { token });
	assert.match(order.delivery_pin ?? '', /^\d{6}$/);

	const page = await pageAs(budi, `#/orders/${id}`, 'order');
	assert.equal(await page.textContent('#delivery-pin'), order.delivery_pin);
	assert.match(await page.textContent('main .pin'), /Berikan PIN ini kepada kurir/);
	await finish(page, PHONE, 'pin-order-buyer');

	const owner = await pageAs(siti, `#/orders/${id}`, 'order');
	assert.equal(await owner.isVisible('main h1'), true);
	assert.equal(await owner.$('#delivery-pin'), null, 'the store never sees the PIN');
	await finish(owner, PHONE, 'pin-order-store');
});
