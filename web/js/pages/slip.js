// A packing slip for one order of a store, to print and put in the parcel:
// from and to, the courier, and the items with quantities and weights to tick
// off while packing (no prices: the parcel may pass many hands).
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatTime } from '../time.js';
import { printBar } from './poster.js';

export async function render({ id, oid }) {
	const [store, o] = await Promise.all([get(`/api/v1/merchants/${encodeURIComponent(id)}`), get(`/api/v1/orders/${encodeURIComponent(oid)}`)]);
	const tracking = await get(`/api/v1/orders/${o.id}/tracking`).catch(() => null);
	const weight = o.items.reduce((sum, i) => sum + i.weight_g * i.quantity, 0);
	const to = o.ship_to;
	return [
		printBar(h('p', {}, h('a', { href: `#/merchant/${store.id}/orders` }, t('product_form.back')))),
		h('article', { class: 'slip print-a5', id: 'slip', 'data-order-id': o.id },
			h('h1', {}, t('slip.heading', { id: o.id })),
			h('p', { class: 'muted' }, t('slip.placed', { time: formatTime(o.paid_at ?? o.created_at) })),
			h('div', { class: 'slip-parties' },
				h('section', { class: 'slip-from' }, h('h2', {}, t('slip.from')),
					h('p', { class: 'address' }, [store.name, store.address, `${store.city} ${store.postal_code}`, store.phone].filter(Boolean).join('\n'))),
				h('section', { class: 'slip-to' }, h('h2', {}, t('slip.to')),
					h('p', { class: 'address', id: 'slip-to' }, [to.name, to.phone, to.address, `${to.city} ${to.postal_code}`].join('\n')))),
			h('p', { id: 'slip-courier' }, o.courier ? t('order.courier', { courier: `${o.courier.courier_name} ${o.courier.service_name}` }) : t('checkout.own_delivery'),
				tracking?.shipment?.waybill ? ` · ${t('order.waybill', { waybill: tracking.shipment.waybill })}` : ''),
			h('table', { class: 'slip-items', id: 'slip-items' },
				h('thead', {}, h('tr', {}, ...['slip.col.check', 'slip.col.item', 'slip.col.qty', 'slip.col.weight'].map((k) => h('th', { scope: 'col' }, t(k))))),
				h('tbody', {}, o.items.map((i) => h('tr', { 'data-product-id': i.product_id },
					h('td', { class: 'tick', 'aria-hidden': 'true' }, '☐'), h('td', {}, i.title),
					h('td', { class: 'n qty' }, String(i.quantity)), h('td', { class: 'n' }, `${i.weight_g * i.quantity} g`)))),
				h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 3 }, t('slip.total_weight')), h('td', { class: 'n' }, `${weight} g`))))),
	];
}
