// The shopper's cart, across stores, kept in localStorage (it holds no
// secret and should survive closing the tab). Amounts are whole rupiah:
// every price, quantity and total is checked to be a safe integer.
import { webStorage } from './storage.js';
const KEY = 'bangsoleh.cart';
export const MAX_LINES = 50;       // the checkout's bound (docs/api.md, "POST /api/v1/checkout")
export const MAX_QUANTITY = 1000;
const listeners = new Set();

const storage = () => webStorage('localStorage');

const wholeIn = (n, min, max) => Number.isSafeInteger(n) && n >= min && n <= max;

function validLine(l) {
	return l && wholeIn(l.product_id, 1, Number.MAX_SAFE_INTEGER) && wholeIn(l.merchant_id, 1, Number.MAX_SAFE_INTEGER) &&
		wholeIn(l.price, 1, 10000000) && wholeIn(l.quantity, 1, MAX_QUANTITY) && typeof l.title === 'string';
}

// The lines [{product_id, merchant_id, title, price, quantity}], in the order added;
// anything unreadable in storage is dropped.
export function lines() {
	try {
		const saved = JSON.parse(storage()?.getItem(KEY) ?? '[]');
		return Array.isArray(saved) ? saved.filter(validLine) : [];
	} catch {
		return [];
	}
}

function save(next) {
	if (next.length) storage()?.setItem(KEY, JSON.stringify(next));
	else storage()?.removeItem(KEY);
	for (const fn of listeners) fn(next);
}

// Adds quantity of a product ({id, merchant_id, title, price}); a product
// already in the cart gets more, up to MAX_QUANTITY. Throws RangeError when
// the cart is full or the numbers are not whole.
export function add(product, quantity = 1) {
	const current = lines();
	const found = current.find((l) => l.product_id === product.id);
	const line = found ?? { product_id: product.id, merchant_id: product.merchant_id, title: product.title, price: product.price, quantity: 0 };
	const next = { ...line, title: product.title, price: product.price, quantity: Math.min(MAX_QUANTITY, line.quantity + quantity) };
	if (!wholeIn(quantity, 1, MAX_QUANTITY) || !validLine(next)) throw new RangeError('not a whole quantity or price');
	if (!found && current.length >= MAX_LINES) throw new RangeError('the cart is full');
	save(found ? current.map((l) => (l === found ? next : l)) : [...current, next]);
}

// Sets a line's quantity; 0 removes it.
export function setQuantity(productId, quantity) {
	if (!wholeIn(quantity, 0, MAX_QUANTITY)) throw new RangeError('not a whole quantity');
	save(lines().flatMap((l) => (l.product_id !== productId ? [l] : quantity ? [{ ...l, quantity }] : [])));
}

// Replaces a line's title and price with the catalogue's current ones.
export function refresh(product) {
	save(lines().map((l) => (l.product_id === product.id && validLine({ ...l, title: product.title, price: product.price })
		? { ...l, title: product.title, price: product.price } : l)));
}

export function remove(productIds) {
	const gone = new Set(productIds);
	save(lines().filter((l) => !gone.has(l.product_id)));
}

export function count() {
	return lines().reduce((n, l) => n + l.quantity, 0);
}

// The sum of price × quantity of lines (exact: at most 50 × 1000 × 10,000,000).
export function total(of = lines()) {
	const sum = of.reduce((n, l) => n + l.price * l.quantity, 0);
	if (!Number.isSafeInteger(sum)) throw new RangeError('total out of range');
	return sum;
}

// The lines grouped by store: Map merchant_id → lines, in the order first added.
export function byStore(of = lines()) {
	const stores = new Map();
	for (const l of of) stores.set(l.merchant_id, [...(stores.get(l.merchant_id) ?? []), l]);
	return stores;
}

export function onCartChange(fn) {
	listeners.add(fn);
	return () => listeners.delete(fn);
}
