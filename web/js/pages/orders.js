// The shopper's orders, newest first, 20 a page
// (GET /api/v1/orders?order=desc); "more" carries the API's cursor in the
// hash (#/orders?cursor=…), so a page can be reloaded and gone back to.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { session } from '../session.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { stateBadge } from '../status.js';
import { signInForm } from './signin.js';
import { hashWith } from './audit-common.js';

const PAGE = 20;

export async function render({ params }) {
	if (session()?.user.role !== 'shopper')
		return [h('h1', {}, t('orders.heading')), h('p', {}, t('orders.signin_first')), signInForm({ after: '#/orders' })];
	const cursor = params.get('cursor');
	const page = await get('/api/v1/orders', { order: 'desc', limit: PAGE, cursor });
	const more = page.next_cursor
		? h('p', {}, h('a', { class: 'button', id: 'orders-more', href: hashWith('#/orders', { cursor: page.next_cursor }) }, t('orders.more')))
		: null;
	const first = cursor ? h('p', {}, h('a', { href: '#/orders', id: 'orders-newest' }, t('orders.newest'))) : null;
	if (!page.items.length)
		return [h('h1', {}, t('orders.heading')), first, h('p', { class: 'empty' }, t(cursor ? 'orders.no_more' : 'orders.none')), more];
	return [h('h1', {}, t('orders.heading')), first, h('ul', { class: 'orders' }, page.items.map((o) =>
		h('li', { class: 'card order-card', 'data-order-id': o.id },
			h('a', { href: `#/orders/${o.id}` },
				h('span', { class: 'card-title' }, t('order.number', { id: o.id })),
				stateBadge(o.state),
				h('span', { class: 'price' }, formatRupiah(o.total)),
				h('span', { class: 'muted' }, t('orders.items', { count: o.items.length, time: formatTime(o.created_at) })))))), more];
}
