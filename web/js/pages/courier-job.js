// One job of a city courier: where to pick up and deliver (with the store's
// and the buyer's phones to call, which the API shows the courier who took
// it), and the next step (on the way to the store, picked up, on the way,
// delivered). Delivery asks for the buyer's 6-digit PIN; a wrong one shows
// how many tries are left (in the person's language).
import { h, field, errorBox, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatRupiah } from '../format.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import { timeline } from '../status.js';
import { nextStep, telHref } from '../courier-jobs.js';
import { shipmentBadge, route } from './courier.js';

// The tries a wrong PIN leaves (the 422 wrong_pin's tries_left); null for any other error.
function triesLeft(err) {
	const left = err?.code === 'wrong_pin' ? err.details?.tries_left : undefined;
	return Number.isSafeInteger(left) ? left : null;
}

function stepButton(s, status) {
	const step = nextStep(s.state);
	if (!step) return null;
	const path = `/api/v1/shipments/${s.id}/status`;
	if (step === 'delivered') {
		return h('form', { class: 'pin-form', id: 'pin-form', onsubmit: onSubmit(status, async (f) => {
			const pin = f.elements.pin.value.trim();
			if (!/^\d{6}$/.test(pin)) {
				status.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-code': 'local_pin' }, t('courier.pin_format')));
				return;
			}
			try {
				await post(path, { status: 'delivered', pin });
			} catch (err) {
				const left = triesLeft(err);
				if (left === null) throw err;
				status.replaceChildren(h('div', { class: 'error', role: 'alert', 'data-code': err.code, 'data-tries-left': left },
					h('p', { class: 'error-title' }, t('courier.pin_wrong', { left }))));
				return;
			}
			navigate(`#/courier/job/${s.id}`);
		}) },
		field('pin', t('courier.pin'), { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}', required: true, class: 'pin-input' }, t('courier.pin_hint')),
		h('button', { type: 'submit', id: 'deliver' }, t('courier.deliver')));
	}
	return h('button', { type: 'button', id: 'next-step', 'data-step': step, onclick: async (event) => {
		event.target.disabled = true;
		try {
			await post(path, { status: step });
			navigate(`#/courier/job/${s.id}`);
		} catch (err) {
			status.replaceChildren(errorBox(err));
			event.target.disabled = false;
		}
	} }, t(`courier.step.${step}`));
}

// "Call the store", "Call the buyer": tel: links for the phones the shipment shows.
function calls(s) {
	const links = [['call-store', s.pickup.phone, 'courier.call_store'], ['call-buyer', s.drop.phone, 'courier.call_buyer']]
		.map(([id, phone, key]) => [id, telHref(phone), key])
		.filter(([, href]) => href)
		.map(([id, href, key]) => h('a', { class: 'button secondary', id, href }, t(key)));
	return links.length ? h('p', { class: 'shop-nav calls' }, links) : null;
}

export async function render({ id }) {
	const s = await get(`/api/v1/shipments/${encodeURIComponent(id)}`);
	const userId = session()?.user.id;
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	return [h('article', { class: 'courier-job', 'data-shipment-id': s.id, 'data-state': s.state },
		h('h1', {}, t('courier.job_heading', { order: s.order_id })),
		h('p', {}, shipmentBadge(s.state), ' ', h('span', { class: 'price' }, formatRupiah(s.fee)), ' ', h('span', { class: 'muted' }, t('courier.weight', { grams: s.weight_g }))),
		route(s),
		calls(s),
		s.state === 'on_hold' ? h('p', { class: 'error', role: 'alert' }, t('courier.on_hold')) : null,
		s.courier_user_id === userId ? stepButton(s, status) : null,
		status,
		s.state === 'delivered' ? h('p', { class: 'note', id: 'delivered-note' }, t('courier.delivered'), ' ', h('a', { href: '#/courier/earnings' }, t('nav.earnings'))) : null,
		h('h2', {}, t('order.tracking')),
		timeline(s.timeline.map((e) => ({ at: e.at, text: t(`shipment.state.${e.state}`) })), t('order.tracking')),
		h('p', {}, h('a', { href: '#/courier' }, t('earnings.to_jobs'))))];
}
