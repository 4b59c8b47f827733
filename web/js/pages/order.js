// One order for its buyer: items and totals, where it goes, the tracking
// timeline, the delivery PIN for the city's couriers, confirming receipt,
// and the way to the payment (while unpaid) and its receipt.
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatRupiah } from '../format.js';
import { navigate } from '../router.js';
import { stateBadge, timeline } from '../status.js';

// States a person moves an order to with a reason of their own, shown beside the state.
const REASONED = new Set(['cancelled', 'disputed']);
const PAID = new Set(['paid', 'confirmed', 'shipped', 'delivered', 'completed', 'disputed']);

export async function render({ id }) {
	const path = `/api/v1/orders/${encodeURIComponent(id)}`;
	const [o, tracking] = await Promise.all([get(path), get(`${path}/tracking`).catch(() => null)]);
	let store = null;
	try {
		store = await get(`/api/v1/merchants/${o.merchant_id}`);
	} catch {
		// The order shows without its store's name.
	}
	const status = h('div', { 'aria-live': 'assertive' });
	const receive = async (event) => {
		event.target.disabled = true;
		try {
			await post(`${path}/receive`);
			navigate(`#/orders/${o.id}`);
		} catch (err) {
			status.replaceChildren(errorBox(err));
			event.target.disabled = false;
		}
	};
	const pin = o.delivery_pin ?? tracking?.delivery_pin;
	const shipment = tracking?.shipment;
	return [h('article', { class: 'order', 'data-order-id': o.id },
		h('h1', {}, t('order.number', { id: o.id })),
		h('p', {}, stateBadge(o.state), ' ', store ? h('a', { href: `#/store/${store.id}` }, store.name) : null),
		o.state === 'awaiting_payment' ? h('p', {}, h('a', { href: `#/pay/${o.group_id}`, id: 'to-pay' }, t('order.pay_now'))) : null,
		pin ? h('p', { class: 'pin' }, t('order.pin'), ' ', h('strong', { id: 'delivery-pin' }, pin), h('br'), h('small', { class: 'hint' }, t('order.pin_hint'))) : null,
		o.state === 'delivered' ? h('button', { type: 'button', id: 'receive', onclick: receive }, t('order.receive')) : null,
		o.complaint || o.state === 'delivered' ? h('p', {}, h('a', { href: `#/orders/${o.id}/complaint`, id: 'to-complaint' },
			t(o.complaint ? 'complaint.see' : 'complaint.link'))) : null,
		status,
		h('h2', {}, t('order.items')),
		h('ul', { class: 'lines' }, o.items.map((i) => h('li', {},
			`${i.title} × ${i.quantity} `, h('span', { class: 'price' }, formatRupiah(i.line_total))))),
		h('dl', { class: 'totals' },
			h('dt', {}, t('checkout.goods')), h('dd', {}, formatRupiah(o.subtotal)),
			h('dt', {}, t('checkout.shipping')), h('dd', {}, formatRupiah(o.shipping_fee)),
			h('dt', {}, t('checkout.total')), h('dd', { class: 'price' }, formatRupiah(o.total)),
			o.refunded ? [h('dt', {}, t('order.refunded')), h('dd', {}, formatRupiah(o.refunded))] : null),
		h('h2', {}, t('order.ship_to')),
		h('p', { class: 'address' }, [o.ship_to.name, o.ship_to.phone, o.ship_to.address, `${o.ship_to.city} ${o.ship_to.postal_code}`].join('\n')),
		h('p', {}, o.courier ? t('order.courier', { courier: `${o.courier.courier_name} ${o.courier.service_name}` }) : t('checkout.own_delivery')),
		shipment?.waybill ? h('p', {}, t('order.waybill', { waybill: shipment.waybill })) : null,
		shipment?.driver_name ? h('p', {}, t('order.driver', { name: shipment.driver_name, phone: shipment.driver_phone || '-' })) : null,
		h('h2', {}, t('order.timeline')),
		timeline(o.timeline.map((e) => ({ at: e.at, text: REASONED.has(e.state) && e.note ? `${t(`order.state.${e.state}`)}: ${e.note}` : t(`order.state.${e.state}`) })),
			t('order.timeline')),
		shipment ? [h('h2', {}, t('order.tracking')),
			timeline(shipment.timeline.map((e) => ({ at: e.at, text: t(`shipment.state.${e.state}`) })), t('order.tracking'))] : null,
		PAID.has(o.state) || o.state === 'refunded'
			? h('p', {}, h('a', { href: `#/receipt/${o.payment_id}`, id: 'to-receipt' }, t('pay.to_receipt'))) : null)];
}
