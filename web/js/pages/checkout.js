// Checkout: where to send it, a courier for each store (POST
// /api/v1/shipping/rates), then one order per store and one QRIS payment
// (POST /api/v1/checkout), and on to the payment page.
import { h, field, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, idempotencyKey } from '../api.js';
import { session } from '../session.js';
import { formatRupiah } from '../format.js';
import { navigate } from '../router.js';
import { signInForm } from './signin.js';
import * as cart from '../cart.js';

const ADDRESS = [
	['name', { autocomplete: 'name', maxlength: 64 }],
	['phone', { autocomplete: 'tel', inputmode: 'tel', maxlength: 21, pattern: '\\+?[0-9]{6,20}' }],
	['address', { autocomplete: 'street-address', maxlength: 200 }],
	['city', { autocomplete: 'address-level2', maxlength: 64 }],
	['postal_code', { autocomplete: 'postal-code', inputmode: 'numeric', maxlength: 10, pattern: '[0-9]{5,10}' }],
];
const OWN = 'own'; // the store sends it by its own means: no courier, no fee

// The courier choice of one store: its rates as radio buttons, and the store's own delivery.
function courierChoice(storeId, storeName, answer, problem) {
	const name = `courier-${storeId}`;
	const options = (answer?.rates ?? []).map((r, i) => h('label', { class: 'choice' },
		h('input', { type: 'radio', name, value: r.rate_token, checked: i === 0, 'data-price': r.price, 'data-courier': `${r.courier_code}-${r.service_code}` }),
		h('span', {}, `${r.courier_name} ${r.service_name} (${r.duration}) `, h('span', { class: 'price' }, formatRupiah(r.price)))));
	options.push(h('label', { class: 'choice' },
		h('input', { type: 'radio', name, value: OWN, checked: options.length === 0, 'data-price': 0, 'data-courier': OWN }),
		h('span', {}, t('checkout.own_delivery'))));
	return h('fieldset', { class: 'courier', 'data-store-id': storeId },
		h('legend', {}, t('checkout.courier_for', { store: storeName })),
		problem ? errorBox(problem) : null, ...options);
}

export async function render() {
	const who = session();
	if (!who || who.user.role !== 'shopper')
		return [h('h1', {}, t('checkout.heading')), h('p', {}, t('checkout.signin_first')), signInForm({ after: '#/checkout' })];
	const lines = cart.lines();
	if (!lines.length) return [h('h1', {}, t('checkout.heading')), h('p', { class: 'empty' }, t('cart.empty'))];
	const groups = cart.byStore(lines);
	const names = new Map();
	await Promise.allSettled([...groups.keys()].map(async (id) => names.set(id, (await get(`/api/v1/merchants/${id}`)).name)));
	const storeName = (id) => names.get(id) ?? t('cart.store', { id });

	const couriers = h('div', { class: 'couriers' });
	const summary = h('div', { class: 'checkout-summary', 'aria-live': 'polite' });
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	let quoted = null; // {shipTo, key}: the address the shown rates are for, and the checkout's Idempotency-Key

	const shipTo = (form) => Object.fromEntries(ADDRESS.map(([name]) => [name, form.elements[name].value.trim()]));
	const fees = () => [...couriers.querySelectorAll('input[type="radio"]:checked')].reduce((n, r) => n + Number(r.dataset.price), 0);
	const drawSummary = () => {
		const goods = cart.total(lines);
		summary.replaceChildren(h('dl', { class: 'totals' },
			h('dt', {}, t('checkout.goods')), h('dd', {}, formatRupiah(goods)),
			h('dt', {}, t('checkout.shipping')), h('dd', {}, formatRupiah(fees())),
			h('dt', {}, t('checkout.total')), h('dd', { class: 'price big', id: 'checkout-total' }, formatRupiah(goods + fees()))),
			h('button', { type: 'button', id: 'place-order', onclick: placeOrder }, t('checkout.pay')));
	};
	// Another courier is another request: it gets its own key.
	couriers.addEventListener('change', () => {
		if (quoted) quoted.key = idempotencyKey();
		drawSummary();
	});
	const forget = () => {
		quoted = null;
		couriers.replaceChildren();
		summary.replaceChildren();
	};

	const quote = async (event) => {
		event.preventDefault();
		const form = event.target;
		const button = form.querySelector('button[type="submit"]');
		button.disabled = true;
		status.replaceChildren();
		const to = shipTo(form);
		const answers = await Promise.allSettled([...groups].map(([id, storeLines]) => post('/api/v1/shipping/rates', {
			merchant_id: id, items: storeLines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })),
			ship_to: { postal_code: to.postal_code, address: to.address },
		})));
		button.disabled = false;
		const blocking = answers.find((a) => a.status === 'rejected' && a.reason.code !== 'store_not_shippable' && a.reason.status !== 502 && a.reason.status !== 503);
		if (blocking) {
			status.replaceChildren(errorBox(blocking.reason));
			return;
		}
		quoted = { shipTo: to, key: idempotencyKey() };
		couriers.replaceChildren(h('h2', {}, t('checkout.couriers')),
			...[...groups.keys()].map((id, i) => courierChoice(id, storeName(id),
				answers[i].status === 'fulfilled' ? answers[i].value : null, answers[i].status === 'rejected' ? answers[i].reason : null)));
		drawSummary();
	};

	async function placeOrder(event) {
		const button = event.target;
		button.disabled = true;
		status.replaceChildren();
		const shipping = {};
		for (const radio of couriers.querySelectorAll('input[type="radio"]:checked'))
			if (radio.value !== OWN) shipping[radio.closest('fieldset').dataset.storeId] = radio.value;
		try {
			const group = await post('/api/v1/checkout', {
				items: lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })),
				ship_to: quoted.shipTo, shipping,
			}, { 'Idempotency-Key': quoted.key });
			cart.remove(lines.map((l) => l.product_id));
			navigate(`#/pay/${group.id}`);
		} catch (err) {
			status.replaceChildren(errorBox(err));
			button.disabled = false;
		}
	}

	const form = h('form', { class: 'address-form', onsubmit: quote, oninput: forget },
		h('h2', {}, t('checkout.address')),
		...ADDRESS.map(([name, attrs]) => field(`ship-${name}`, t(`checkout.field.${name}`), { ...attrs, name, required: true })),
		h('button', { type: 'submit', class: 'secondary' }, t('checkout.rates')));
	return [
		h('h1', {}, t('checkout.heading')),
		h('ul', { class: 'checkout-stores' }, [...groups].map(([id, storeLines]) => h('li', {},
			h('strong', {}, storeName(id)), ' · ', t('checkout.items', { count: storeLines.reduce((n, l) => n + l.quantity, 0) }), ' · ',
			formatRupiah(cart.total(storeLines))))),
		form, couriers, summary, status,
	];
}
