// The shopper's orders, newest first (the API pages them oldest first: the
// newest 100 are read and turned around).
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { session } from '../session.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { stateBadge } from '../status.js';
import { signInForm } from './signin.js';

export async function render() {
	if (session()?.user.role !== 'shopper')
		return [h('h1', {}, t('orders.heading')), h('p', {}, t('orders.signin_first')), signInForm({ after: '#/orders' })];
	let items = [];
	let cursor = null;
	do {
		const page = await get('/api/v1/orders', { limit: 100, cursor });
		items = [...items, ...page.items].slice(-100);
		cursor = page.next_cursor;
	} while (cursor);
	if (!items.length) return [h('h1', {}, t('orders.heading')), h('p', { class: 'empty' }, t('orders.none'))];
	return [h('h1', {}, t('orders.heading')), h('ul', { class: 'orders' }, items.reverse().map((o) =>
		h('li', { class: 'card order-card', 'data-order-id': o.id },
			h('a', { href: `#/orders/${o.id}` },
				h('span', { class: 'card-title' }, t('order.number', { id: o.id })),
				stateBadge(o.state),
				h('span', { class: 'price' }, formatRupiah(o.total)),
				h('span', { class: 'muted' }, t('orders.items', { count: o.items.length, time: formatTime(o.created_at) }))))))];
}
