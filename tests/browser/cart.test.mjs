// Unit tests of web/js/cart.js (node --test), over an in-memory localStorage.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

const memory = new Map();
globalThis.localStorage = {
	getItem: (k) => (memory.has(k) ? memory.get(k) : null),
	setItem: (k, v) => memory.set(k, String(v)),
	removeItem: (k) => memory.delete(k),
};
const cart = await import('../../web/js/cart.js');

const rendang = { id: 1, merchant_id: 7, title: 'Rendang', price: 45000 };
const kopi = { id: 9, merchant_id: 3, title: 'Kopi', price: 8000 };

beforeEach(() => memory.clear());

test('lines add up by product, group by store in the order added, and total exactly', () => {
	const seen = [];
	const off = cart.onCartChange((lines) => seen.push(lines.length));
	cart.add(rendang, 2);
	cart.add(kopi);
	cart.add(rendang, 1);
	off();
	assert.deepEqual(seen, [1, 2, 2]);
	assert.deepEqual(cart.lines().map((l) => [l.product_id, l.quantity]), [[1, 3], [9, 1]]);
	assert.equal(cart.count(), 4);
	assert.equal(cart.total(), 3 * 45000 + 8000);
	assert.deepEqual([...cart.byStore().keys()], [7, 3]);
	cart.setQuantity(1, 0);
	assert.deepEqual(cart.lines().map((l) => l.product_id), [9]);
	cart.remove([9]);
	assert.equal(memory.size, 0, 'an empty cart leaves nothing behind');
});

test('quantities and prices must be whole and in range; the cart holds at most 50 lines', () => {
	assert.throws(() => cart.add(rendang, 1.5), RangeError);
	assert.throws(() => cart.add(rendang, 0), RangeError);
	assert.throws(() => cart.add({ ...rendang, price: 0.5 }), RangeError);
	assert.throws(() => cart.add({ ...rendang, price: 10000001 }), RangeError);
	cart.add(rendang, 1000);
	cart.add(rendang, 5);
	assert.equal(cart.lines()[0].quantity, 1000, 'capped at the checkout\'s limit');
	assert.throws(() => cart.setQuantity(1, 1001), RangeError);
	for (let id = 2; id <= 50; id++) cart.add({ ...kopi, id });
	assert.throws(() => cart.add({ ...kopi, id: 51 }), /full/);
	assert.equal(cart.total(), 1000 * 45000 + 49 * 8000);
});

test('whatever is unreadable in storage is dropped; a refresh takes the catalogue\'s price', () => {
	memory.set('bangsoleh.cart', '{not json');
	assert.deepEqual(cart.lines(), []);
	memory.set('bangsoleh.cart', JSON.stringify([{ product_id: 1, merchant_id: 7, title: 'x', price: 1e20, quantity: 1 },
		{ product_id: 2, merchant_id: 7, title: 'y', price: 100, quantity: 2 }]));
	assert.deepEqual(cart.lines().map((l) => l.product_id), [2]);
	cart.refresh({ id: 2, title: 'y baru', price: 150 });
	assert.deepEqual(cart.lines()[0], { product_id: 2, merchant_id: 7, title: 'y baru', price: 150, quantity: 2 });
	assert.equal(cart.total(), 300);
});
