// One store for its owner: its verification state, the orders waiting to be
// confirmed (a count), the in-store charge, and its products with stock.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { storeState } from './merchant.js';

// How many of the store's orders are paid and wait for the store ("100+" when there are more than one page).
export async function waitingCount(id) {
	const page = await get(`/api/v1/merchants/${id}/orders`, { state: 'paid', limit: 100 });
	return page.next_cursor ? `${page.items.length}+` : String(page.items.length);
}

export async function render({ id }) {
	const base = `/api/v1/merchants/${encodeURIComponent(id)}`;
	const [m, products, waiting] = await Promise.all([get(base), get(`${base}/products`, { limit: 100 }), waitingCount(id)]);
	return [h('article', { class: 'shop', 'data-store-id': m.id },
		h('h1', {}, m.name),
		h('p', {}, storeState(m.status), ' ', t(`store.status_hint.${m.status}`)),
		h('nav', { class: 'shop-nav', 'aria-label': t('shop.nav') },
			h('a', { class: 'button', href: `#/merchant/${m.id}/orders`, id: 'shop-orders' }, t('shop.orders'), ' ',
				h('span', { class: 'count', id: 'waiting-count', 'aria-label': t('shop.waiting', { count: waiting }) }, waiting)),
			m.status === 'verified' ? h('a', { class: 'button', href: `#/merchant/${m.id}/charge`, id: 'shop-charge' }, t('shop.charge')) : null,
			h('a', { class: 'button secondary', href: `#/merchant/${m.id}/products/new`, id: 'new-product' }, t('shop.new_product'))),
		h('h2', {}, t('shop.products')),
		products.products.length
			? h('table', { class: 'products-table' },
				h('thead', {}, h('tr', {}, ...['shop.col.title', 'shop.col.price', 'shop.col.stock', 'shop.col.listed', 'shop.col.edit'].map((k) => h('th', { scope: 'col' }, t(k))))),
				h('tbody', {}, products.products.map((p) => h('tr', { 'data-product-id': p.id },
					h('td', {}, p.title), h('td', { class: 'n' }, formatRupiah(p.price)), h('td', { class: 'n stock' }, String(p.stock)),
					h('td', {}, p.listed ? t('shop.listed') : t('shop.not_listed')),
					h('td', {}, h('a', { href: `#/merchant/${m.id}/products/${p.id}`, 'aria-label': t('shop.edit_named', { title: p.title }) }, t('shop.edit')))))))
			: h('p', { class: 'empty' }, t('shop.no_products')))];
}
