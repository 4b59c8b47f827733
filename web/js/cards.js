// The small views of a product and a store that lists show.
import { h } from './dom.js';
import { t } from './i18n.js';
import { formatRupiah } from './format.js';

export function productCard(p) {
	return h('li', { class: 'card product-card', 'data-product-id': p.id },
		h('a', { href: `#/product/${p.id}` },
			h('span', { class: 'card-title' }, p.title),
			h('span', { class: 'price' }, formatRupiah(p.price)),
			h('span', { class: 'muted' }, p.stock > 0 ? t('product.stock', { count: p.stock }) : t('product.out_of_stock'))));
}

export function storeCard(m) {
	return h('li', { class: 'card store-card', 'data-store-id': m.id },
		h('a', { href: `#/store/${m.id}` },
			h('span', { class: 'card-title' }, m.name),
			h('span', { class: 'muted' }, [m.category, m.city].filter(Boolean).join(' · '))));
}

export function productList(products, emptyText) {
	if (!products.length) return h('p', { class: 'empty' }, emptyText);
	return h('ul', { class: 'grid products' }, products.map(productCard));
}
