// A store's orders: the paid ones waiting for the store, oldest first (first
// come, first served), to confirm or reject (with a reason); then the newest
// 20 of the others, whatever their state (a confirmed one the store delivers
// itself is marked sent here). The store's index is by state, so
// the others are the newest 20 of each state (order=desc), merged by id.
import { h, field, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { navigate } from '../router.js';
import { stateBadge } from '../status.js';

const OTHERS = 20;
const OTHER_STATES = ['awaiting_payment', 'confirmed', 'shipped', 'delivered', 'disputed', 'completed', 'cancelled', 'refunded'];

function orderCard(o, actions) {
	return h('li', { class: 'card shop-order', 'data-order-id': o.id },
		h('p', {}, h('strong', {}, t('order.number', { id: o.id })), ' ', stateBadge(o.state), ' ', h('span', { class: 'price' }, formatRupiah(o.total))),
		h('ul', { class: 'lines' }, o.items.map((i) => h('li', {}, `${i.title} × ${i.quantity}`))),
		h('p', { class: 'muted' }, t('shop_orders.for', { name: o.ship_to.name, city: o.ship_to.city, time: formatTime(o.paid_at ?? o.created_at) }),
			' · ', o.courier ? `${o.courier.courier_name} ${o.courier.service_name}` : t('checkout.own_delivery')),
		actions,
		h('p', {}, h('a', { href: `#/merchant/${o.merchant_id}/slip/${o.id}`, class: 'slip-link' }, t('slip.link'))));
}

// Moves the order (confirm, reject, ship), then draws the list again; a refusal shows in status.
function mover(o, again, status) {
	return async (what, body, button) => {
		button.disabled = true;
		try {
			await post(`/api/v1/orders/${o.id}/${what}`, body);
			again();
		} catch (err) {
			status.replaceChildren(errorBox(err));
			button.disabled = false;
		}
	};
}

// A confirmed order the store delivers itself (no courier): "sent" once it
// left the store; the city marks it delivered (docs/api.md, order states).
function shipAction(o, again) {
	const status = h('div', { 'aria-live': 'assertive' });
	const act = mover(o, again, status);
	return h('div', { class: 'decide' },
		h('button', { type: 'button', class: 'ship', onclick: (e) => act('ship', undefined, e.target) }, t('shop_orders.ship')),
		status);
}

function decide(o, again) {
	const status = h('div', { 'aria-live': 'assertive' });
	const act = mover(o, again, status);
	const reason = h('form', { class: 'reject-form', hidden: true, onsubmit: (e) => {
		e.preventDefault();
		const text = e.target.elements.reason.value.trim();
		act('reject', text ? { reason: text } : undefined, e.target.querySelector('button'));
	} }, field(`reason-${o.id}`, t('shop_orders.reason'), { name: 'reason', maxlength: 200 }),
	h('button', { type: 'submit', class: 'danger' }, t('shop_orders.reject_confirm')));
	return h('div', { class: 'decide' },
		h('div', { class: 'row' },
			h('button', { type: 'button', class: 'confirm', onclick: (e) => act('confirm', undefined, e.target) }, t('shop_orders.confirm')),
			h('button', { type: 'button', class: 'secondary', onclick: () => { reason.hidden = false; reason.querySelector('input').focus(); } }, t('shop_orders.reject'))),
		reason, status);
}

export async function render({ id }) {
	const path = `/api/v1/merchants/${encodeURIComponent(id)}/orders`;
	const [store, waiting, ...byState] = await Promise.all([get(`/api/v1/merchants/${encodeURIComponent(id)}`),
		get(path, { state: 'paid', limit: 100 }),
		...OTHER_STATES.map((state) => get(path, { state, order: 'desc', limit: OTHERS }))]);
	const again = () => navigate(location.hash);
	const others = byState.flatMap((page) => page.items).sort((a, b) => b.id - a.id).slice(0, OTHERS);
	return [
		h('h1', {}, t('shop_orders.heading', { store: store.name })),
		h('p', {}, h('a', { href: `#/merchant/${store.id}` }, t('product_form.back')), ' · ',
			h('a', { href: `#/merchant/${store.id}/money`, id: 'to-money' }, t('money.link')), ' · ',
			h('a', { href: `#/merchant/${store.id}/poster`, id: 'to-poster' }, t('poster.link'))),
		h('h2', { id: 'waiting-heading' }, t('shop_orders.waiting'), ' ', h('span', { class: 'count', id: 'waiting-count' }, String(waiting.items.length))),
		waiting.items.length
			? h('ul', { class: 'shop-orders waiting', 'aria-labelledby': 'waiting-heading' }, waiting.items.map((o) => orderCard(o, decide(o, again))))
			: h('p', { class: 'empty' }, t('shop_orders.none_waiting')),
		h('h2', {}, t('shop_orders.others')),
		others.length ? h('ul', { class: 'shop-orders' }, others.map((o) => orderCard(o, o.state === 'confirmed' && !o.courier ? shipAction(o, again) : null))) : h('p', { class: 'empty' }, t('shop_orders.none')),
	];
}
