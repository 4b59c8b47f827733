// A shopper's complaint about a delivered order (POST /api/v1/orders/{id}/complaint),
// and its state: under review by the city while the order is disputed, then
// how a city officer resolved it (the order's timeline holds their note).
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatRupiah } from '../format.js';
import { navigate } from '../router.js';
import { stateBadge, timeline } from '../status.js';

export const REASON_MAX = 200; // bytes (docs/api.md)
const utf8Length = (text) => new TextEncoder().encode(text).length;

// The complaint's state from the order: 'open' while disputed, 'resolved'
// after (completed or refunded), or null for an order with no complaint.
export function complaintState(order) {
	if (!order.complaint) return null;
	return order.state === 'disputed' ? 'open' : 'resolved';
}

export async function render({ id }) {
	const path = `/api/v1/orders/${encodeURIComponent(id)}`;
	const o = await get(path);
	const state = complaintState(o);
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	const parts = [h('h1', {}, t('complaint.heading', { id: o.id })), h('p', {}, stateBadge(o.state), ' ', h('span', { class: 'price' }, formatRupiah(o.total)))];
	if (state) {
		const after = o.timeline.filter((e) => e.state === 'disputed' || ((e.state === 'completed' || e.state === 'refunded') && e.actor_user_id !== o.buyer_user_id));
		parts.push(h('section', { class: 'complaint', id: 'complaint', 'data-state': state },
			h('p', {}, h('strong', {}, t('complaint.yours')), ' ', h('span', { id: 'complaint-reason' }, o.complaint)),
			h('p', { class: `badge complaint-${state}`, id: 'complaint-state' }, t(`complaint.state.${state}`)),
			h('p', { class: 'muted' }, t(`complaint.hint.${state}`)),
			o.refunded ? h('p', {}, t('order.refunded'), ' ', formatRupiah(o.refunded)) : null,
			timeline(after.map((e) => ({ at: e.at, text: e.note ? `${t(`order.state.${e.state}`)}: ${e.note}` : t(`order.state.${e.state}`) })), t('order.timeline'))));
	} else if (o.state === 'delivered') {
		parts.push(h('form', { class: 'complaint-form', id: 'complaint-form', onsubmit: onSubmit(status, async (f) => {
			const reason = f.elements.reason.value.trim();
			if (!reason || utf8Length(reason) > REASON_MAX) {
				status.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-code': 'local_reason' }, t('complaint.bad_reason')));
				return;
			}
			await post(`${path}/complaint`, { reason });
			navigate(`#/orders/${o.id}/complaint`);
		}) },
		h('p', { class: 'hint' }, t('complaint.intro')),
		field('reason', t('complaint.reason'), { tag: 'textarea', rows: 3, maxlength: REASON_MAX, required: true }),
		status,
		h('button', { type: 'submit', class: 'danger' }, t('complaint.send'))));
	} else {
		parts.push(h('p', { class: 'empty', id: 'complaint-closed' }, t('complaint.not_now')));
	}
	parts.push(h('p', {}, h('a', { href: `#/orders/${o.id}` }, t('complaint.back'))));
	return parts;
}
