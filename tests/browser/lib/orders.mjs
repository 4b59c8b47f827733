// Orders put in place through the API for the browser tests of couriers,
// money and complaints: a shopper's checkout, paid through the sandbox.
import { expect } from './seed.mjs';

export const SHIP_TO = { name: 'Budi', phone: '08123456789', address: 'Jl. Ahmad Yani 1', city: 'Payakumbuh', postal_code: '26213' };

// Polls (every 100 ms, at most 10 s) GET path as token until ready(body); resolves to the body.
export async function waitFor(base, token, path, ready) {
	let body;
	for (let i = 0; i < 100; i++) {
		if (i) await new Promise((resolve) => setTimeout(resolve, 100));
		body = await expect(base, 200, 'GET', path, { token });
		if (ready(body)) return body;
	}
	throw new Error(`${path} never got ready: ${JSON.stringify(body)}`);
}

// A shopper (token) buys items ([{product_id, quantity}]) of one store
// (storeId); with courier, the store's first rate. The sandbox pays it.
// Resolves to the paid order.
export async function paidOrder(base, sandbox, { token, storeId, items, courier = false, key }) {
	const shipping = {};
	if (courier) {
		const rates = await expect(base, 200, 'POST', '/api/v1/shipping/rates', { body: { merchant_id: storeId, items, ship_to: { postal_code: SHIP_TO.postal_code } } });
		shipping[storeId] = rates.rates[0].rate_token;
	}
	const res = await fetch(`${base}/api/v1/checkout`, { method: 'POST', headers: { Authorization: `Bearer ${token}`,
		'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify({ items, ship_to: SHIP_TO, shipping }) });
	const group = await res.json();
	if (res.status !== 201) throw new Error(`checkout: ${res.status} ${JSON.stringify(group)}`);
	await sandbox.pay(group.payment_id);
	return waitFor(base, token, `/api/v1/orders/${group.order_ids[0]}`, (o) => o.state === 'paid');
}
