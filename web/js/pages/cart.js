// The cart across stores: lines by store, quantities, the total, and the way
// to checkout. Prices are refreshed from the catalogue, every line in one
// request (ids=: at most 50, the cart's bound); a product no longer sold is
// marked and must be taken out before checking out.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import * as cart from '../cart.js';

function lineRow(line, unavailable, redraw) {
	const qty = h('input', { type: 'number', min: 1, max: cart.MAX_QUANTITY, step: 1, value: line.quantity, inputmode: 'numeric',
		id: `qty-${line.product_id}`, class: 'qty',
		onchange: (e) => {
			const n = Number(e.target.value);
			if (Number.isSafeInteger(n) && n >= 1 && n <= cart.MAX_QUANTITY) cart.setQuantity(line.product_id, n);
			redraw();
		} });
	return h('li', { class: 'cart-line', 'data-product-id': line.product_id },
		h('a', { href: `#/product/${line.product_id}`, class: 'card-title' }, line.title),
		h('span', { class: 'muted' }, t('cart.each', { price: formatRupiah(line.price) })),
		unavailable ? h('p', { class: 'error-title' }, t('cart.unavailable')) : null,
		h('div', { class: 'row cart-controls' },
			h('label', { for: `qty-${line.product_id}` }, t('cart.quantity')), qty,
			h('button', { type: 'button', class: 'secondary remove', onclick: () => { cart.remove([line.product_id]); redraw(); } }, t('cart.remove'))),
		h('span', { class: 'price line-total' }, formatRupiah(line.price * line.quantity)));
}

export async function render() {
	const current = cart.lines();
	if (!current.length)
		return [h('h1', {}, t('cart.heading')), h('p', { class: 'empty' }, t('cart.empty')), h('p', {}, h('a', { href: '#/search' }, t('cart.browse')))];
	const unavailable = new Set();
	const stores = new Map();
	try {
		const found = await get('/api/v1/products', { ids: current.map((l) => l.product_id).join(',') });
		for (const p of found.products) {
			if (p.listed) cart.refresh(p);
			else unavailable.add(p.id);
		}
		for (const id of found.missing) unavailable.add(id);
	} catch {
		// The lines keep the prices they were added at; checkout checks every one again.
	}
	const merchants = await Promise.allSettled([...cart.byStore().keys()].map((id) => get(`/api/v1/merchants/${id}`)));
	for (const m of merchants) if (m.status === 'fulfilled') stores.set(m.value.id, m.value.name);
	const list = h('div', { class: 'cart' });
	const redraw = () => {
		const lines = cart.lines();
		if (!lines.length) {
			list.replaceChildren(h('p', { class: 'empty' }, t('cart.empty')));
			return;
		}
		list.replaceChildren(
			...[...cart.byStore(lines)].map(([storeId, storeLines]) => h('section', { class: 'cart-store', 'data-store-id': storeId },
				h('h2', {}, stores.get(storeId) ?? t('cart.store', { id: storeId })),
				h('ul', { class: 'lines' }, storeLines.map((l) => lineRow(l, unavailable.has(l.product_id), redraw))))),
			h('p', { class: 'cart-total' }, t('cart.total'), ' ', h('span', { class: 'price big', id: 'cart-total' }, formatRupiah(cart.total(lines)))),
			lines.some((l) => unavailable.has(l.product_id))
				? h('p', { class: 'error-title' }, t('cart.remove_unavailable'))
				: h('a', { class: 'button', href: '#/checkout', id: 'to-checkout' }, t('cart.checkout')));
	};
	redraw();
	return [h('h1', {}, t('cart.heading')), list];
}
