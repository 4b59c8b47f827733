// The shopper's home: categories, featured stores, newest products.
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { productList, storeCard } from '../cards.js';

export async function render() {
	const [categories, stores, products] = await Promise.allSettled([
		get('/api/v1/categories'),
		get('/api/v1/merchants', { limit: 6 }),
		get('/api/v1/products', { limit: 12 }),
	]);
	const section = (id, heading, result, body) => h('section', { 'aria-labelledby': id, class: id },
		h('h2', { id }, heading),
		result.status === 'rejected' ? errorBox(result.reason) : body(result.value));
	return [
		h('h1', {}, t('home.heading')),
		section('home-categories', t('home.categories'), categories, (v) =>
			h('ul', { class: 'chips' }, v.categories.map((c) =>
				h('li', {}, h('a', { class: 'chip', href: `#/search?category=${encodeURIComponent(c.category)}` },
					`${c.category} (${c.count})`))))),
		section('home-stores', t('home.stores'), stores, (v) =>
			v.items.length ? h('ul', { class: 'grid stores' }, v.items.map(storeCard)) : h('p', { class: 'empty' }, t('home.no_stores'))),
		section('home-products', t('home.products'), products, (v) => productList(v.products, t('home.no_products'))),
	];
}
