// Complaints for the city officer: the disputed orders of every store (the
// admin list by state, newest orders first: complaints come days after
// delivery, so they sit among the newest orders, where a walk from the
// newest finds them at once), each with the buyer's reason, to resolve by
// releasing the money to the store, refunding part, or refunding all; any
// order can also be opened by its number (and, when the store delivers it
// itself, marked delivered once shipped).
import { h, field, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatRupiah, parseRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { navigate } from '../router.js';
import { stateBadge } from '../status.js';
import { needRole, hashWith, screen } from './audit-common.js';

const OUTCOMES = ['release', 'partial_refund', 'full_refund'];

function resolveForm(o) {
	const status = h('div', { 'aria-live': 'assertive' });
	const amount = field(`refund-${o.id}`, t('admin.complaint.amount'), { name: 'refund_amount', inputmode: 'numeric' },
		t('admin.complaint.amount_hint', { subtotal: formatRupiah(o.subtotal) }));
	amount.hidden = true;
	return h('form', { class: 'resolve-form', onsubmit: async (e) => {
		e.preventDefault();
		const form = e.target;
		const outcome = form.elements.outcome.value;
		const body = { outcome };
		const reason = form.elements.reason.value.trim();
		if (reason) body.reason = reason;
		if (outcome === 'partial_refund') {
			const digits = parseRupiah(form.elements.refund_amount.value);
			if (digits === null) {
				status.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('admin.complaint.amount_bad')));
				return;
			}
			body.refund_amount = Number(digits);
		}
		form.querySelector('button').disabled = true;
		try {
			const after = await post(`/api/v1/orders/${o.id}/resolve`, body);
			navigate(hashWith('#/admin/complaints', { resolved: o.id, state: after.state }));
		} catch (err) {
			status.replaceChildren(errorBox(err));
			form.querySelector('button').disabled = false;
		}
	} },
	h('fieldset', {}, h('legend', {}, t('admin.complaint.outcome')), OUTCOMES.map((outcome, i) => h('label', { class: 'choice' },
		h('input', { type: 'radio', name: 'outcome', value: outcome, checked: i === 0,
			onchange: (e) => { amount.hidden = e.target.value !== 'partial_refund'; } }), ' ', t(`admin.complaint.${outcome}`)))),
	amount,
	field(`resolve-reason-${o.id}`, t('admin.complaint.reason'), { name: 'reason', maxlength: 200 }),
	h('button', { type: 'submit' }, t('admin.complaint.resolve')),
	status);
}

// A shipped order the store delivers itself has no courier to report its
// arrival: the city officer marks it delivered (docs/api.md, order states).
function deliverAction(o) {
	const status = h('div', { 'aria-live': 'assertive' });
	return h('div', { class: 'decide' },
		h('button', { type: 'button', class: 'order-deliver', onclick: async (e) => {
			e.target.disabled = true;
			try {
				await post(`/api/v1/orders/${o.id}/deliver`);
				navigate(hashWith('#/admin/complaints', { order: o.id }));
			} catch (err) {
				status.replaceChildren(errorBox(err));
				e.target.disabled = false;
			}
		} }, t('admin.order.deliver')),
		status);
}

function complaintCard(o) {
	return h('li', { class: 'panel complaint', 'data-order-id': o.id, 'data-state': o.state },
		h('p', {}, h('a', { href: `#/orders/${o.id}` }, h('strong', {}, t('order.number', { id: o.id }))), ' ', stateBadge(o.state), ' ',
			h('span', { class: 'price' }, formatRupiah(o.total))),
		h('p', {}, t('admin.complaint.store', { id: o.merchant_id }), ' · ', t('admin.complaint.buyer', { id: o.buyer_user_id })),
		h('ul', { class: 'lines' }, o.items.map((i) => h('li', {}, `${i.title} × ${i.quantity}`))),
		o.complaint ? h('blockquote', { class: 'complaint-reason' }, o.complaint) : null,
		h('p', { class: 'muted small' }, t('admin.complaint.delivered', { time: o.delivered_at ? formatTime(o.delivered_at) : '—' })),
		o.refund_pending ? h('p', {}, t('admin.complaint.refund_pending', { amount: formatRupiah(o.refund_pending) })) : null,
		o.state === 'disputed' && !o.refund_pending ? resolveForm(o) : null,
		o.state === 'shipped' && !o.courier ? deliverAction(o) : null);
}

export async function render({ params }) {
	const denied = needRole(['admin']);
	if (denied) return denied;
	const wanted = params.get('order') ?? '';
	const resolved = params.get('resolved');
	const listed = await get('/api/v1/admin/orders', { state: 'disputed', order: 'desc', limit: 100, cursor: params.get('cursor') });
	const disputed = listed.items.filter((o) => String(o.id) !== wanted); // shown once, found above
	const one = wanted ? await get(`/api/v1/orders/${encodeURIComponent(wanted)}`).then(complaintCard, (err) => h('li', {}, errorBox(err))) : null;
	return screen(
		h('h1', {}, t('admin.complaints.heading')),
		h('p', {}, h('a', { href: '#/admin' }, t('admin.back'))),
		resolved ? h('p', { class: 'notice', id: 'resolved', role: 'status', 'data-order-id': resolved },
			t('admin.complaints.resolved', { id: resolved, state: t(`order.state.${params.get('state')}`) })) : null,
		h('form', { class: 'order-lookup', onsubmit: (e) => {
			e.preventDefault();
			navigate(hashWith('#/admin/complaints', { order: e.target.elements.order.value.trim() }));
		} }, field('order-id', t('admin.complaints.lookup'), { name: 'order', type: 'number', min: 1, inputmode: 'numeric', value: wanted, required: true }),
		h('button', { type: 'submit' }, t('admin.stores.open'))),
		one ? h('ul', { class: 'complaints', id: 'order-found' }, one) : null,
		h('h2', {}, t('admin.complaints.open'), ' ', h('span', { class: 'count', id: 'complaint-count' }, String(disputed.length))),
		disputed.length ? h('ul', { class: 'complaints', id: 'complaints' }, disputed.map(complaintCard))
			: h('p', { class: 'empty' }, t('admin.complaints.none')),
		listed.next_cursor ? h('p', {}, h('a', { class: 'button', href: hashWith('#/admin/complaints', { cursor: listed.next_cursor }) }, t('audit.next'))) : null,
	);
}
