// The shopper's home: categories, the stores the city features (or, while
// it features none, the first verified stores, under a heading that says
// so), newest products.
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { productList, storeCard } from '../cards.js';

const STORES_SHOWN = 6;

async function homeStores() {
	const featured = await get('/api/v1/merchants', { featured: 'true', limit: STORES_SHOWN });
	if (featured.items.length) return { items: featured.items, featured: true };
	return { items: (await get('/api/v1/merchants', { limit: STORES_SHOWN })).items, featured: false };
}

export async function render() {
	const [categories, stores, products] = await Promise.allSettled([
		get('/api/v1/categories'),
		homeStores(),
		get('/api/v1/products', { limit: 12 }),
	]);
	const storesHeading = stores.status === 'fulfilled' && !stores.value.featured ? t('home.stores_unfeatured') : t('home.stores');
	const section = (id, heading, result, body) => h('section', { 'aria-labelledby': id, class: id },
		h('h2', { id }, heading),
		result.status === 'rejected' ? errorBox(result.reason) : body(result.value));
	return [
		h('h1', {}, t('home.heading')),
		section('home-categories', t('home.categories'), categories, (v) =>
			h('ul', { class: 'chips' }, v.categories.map((c) =>
				h('li', {}, h('a', { class: 'chip', href: `#/search?category=${encodeURIComponent(c.category)}` },
					`${c.category} (${c.count})`))))),
		section('home-stores', storesHeading, stores, (v) =>
			v.items.length ? h('ul', { class: 'grid stores', 'data-featured': String(v.featured) }, v.items.map(storeCard))
				: h('p', { class: 'empty' }, t('home.no_stores'))),
		section('home-products', t('home.products'), products, (v) => productList(v.products, t('home.no_products'))),
	];
}
