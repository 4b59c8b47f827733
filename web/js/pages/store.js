// A store's page with its listed products.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { productList } from '../cards.js';

export async function render({ id }) {
	const path = `/api/v1/merchants/${encodeURIComponent(id)}`;
	const [m, products] = await Promise.all([get(path), get(`${path}/products`, { limit: 50 })]);
	const fact = (key, value) => (value ? h('li', {}, t(key, value)) : null);
	return [h('article', { class: 'store', 'data-store-id': m.id },
		h('h1', {}, m.name),
		m.description ? h('p', { class: 'description' }, m.description) : null,
		h('ul', { class: 'facts' },
			fact('store.city', m.city && { city: m.city }),
			fact('store.address', m.address && { address: m.address }),
			fact('store.hours', m.hours && { hours: m.hours }),
			fact('store.whatsapp', m.whatsapp && { phone: m.whatsapp })),
		h('h2', {}, t('store.products')),
		productList(products.products, t('search.none')))];
}
