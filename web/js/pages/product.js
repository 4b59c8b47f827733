// A product's page.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import * as cart from '../cart.js';

// Quantity and the button that puts the product in the cart.
function addToCart(p) {
	const note = h('p', { class: 'note', role: 'status' });
	return h('form', { class: 'add-to-cart row', onsubmit: (event) => {
		event.preventDefault();
		try {
			cart.add(p, Number(event.target.elements.quantity.value));
			note.replaceChildren(t('product.added_to_cart'), ' ', h('a', { href: '#/cart' }, t('product.see_cart')));
		} catch {
			note.replaceChildren(t('product.cart_refused'));
		}
	} },
	h('label', { for: 'quantity' }, t('cart.quantity')),
	h('input', { id: 'quantity', name: 'quantity', type: 'number', min: 1, max: Math.min(cart.MAX_QUANTITY, p.stock), value: 1, step: 1, inputmode: 'numeric', class: 'qty' }),
	h('button', { type: 'submit', id: 'add-to-cart' }, t('product.add')), note);
}

export async function render({ id }) {
	const p = await get(`/api/v1/products/${encodeURIComponent(id)}`);
	let store = null;
	try {
		store = await get(`/api/v1/merchants/${p.merchant_id}`);
	} catch {
		// The product shows without its store's name; the link still leads there.
	}
	return [h('article', { class: 'product', 'data-product-id': p.id },
		h('h1', {}, p.title),
		h('p', { class: 'price big' }, formatRupiah(p.price)),
		h('p', {}, p.stock > 0 ? t('product.stock', { count: p.stock }) : t('product.out_of_stock')),
		p.stock > 0 && p.listed !== false ? addToCart(p) : null,
		p.description ? h('p', { class: 'description' }, p.description) : null,
		h('ul', { class: 'facts' },
			h('li', {}, h('a', { href: `#/search?category=${encodeURIComponent(p.category)}` }, t('product.category', { category: p.category }))),
			p.weight_g ? h('li', {}, t('product.weight', { grams: p.weight_g })) : null,
			h('li', {}, t('product.added', { time: formatTime(p.created_ms) }))),
		h('p', {}, `${t('product.store')}: `, h('a', { href: `#/store/${p.merchant_id}`, class: 'store-link' }, store ? store.name : `#${p.merchant_id}`)))];
}
