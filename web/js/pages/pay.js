// Paying an order group: the stores and their amounts, and the payment panel
// (the QRIS code, the countdown), which turns to paid by itself.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { paymentPanel, hasReceipt } from '../payview.js';

export async function render({ id }) {
	const group = await get(`/api/v1/order-groups/${encodeURIComponent(id)}`);
	const names = new Map();
	await Promise.allSettled(group.orders.map(async (o) => names.set(o.merchant_id, (await get(`/api/v1/merchants/${o.merchant_id}`)).name)));
	const after = h('div', { class: 'after-payment' });
	const panel = paymentPanel(group.payment, {
		onChange: (p) => after.replaceChildren(...(p.status === 'pending' ? [h('p', { class: 'hint' }, t('pay.howto'))] : [
			h('p', {}, h('a', { href: '#/orders', id: 'to-orders' }, t('pay.to_orders'))),
			hasReceipt(p) ? h('p', {}, h('a', { href: `#/receipt/${p.id}`, id: 'to-receipt' }, t('pay.to_receipt'))) : null,
		])),
	});
	return [
		h('h1', {}, t('pay.heading')),
		h('ul', { class: 'pay-stores' }, group.orders.map((o) => h('li', { 'data-order-id': o.id },
			h('span', { class: 'merchant-name' }, names.get(o.merchant_id) ?? t('cart.store', { id: o.merchant_id })), ' · ',
			formatRupiah(o.total)))),
		panel, after,
	];
}
