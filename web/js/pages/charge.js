// An in-store charge: the merchant types an amount, the QRIS code shows
// large, and turns to paid by itself when the customer pays
// (POST /api/v1/merchants/{id}/charges, then the payment panel).
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, idempotencyKey } from '../api.js';
import { parseRupiah } from '../format.js';
import { paymentPanel, hasReceipt } from '../payview.js';
import { leave } from '../router.js';

const MAX = 10000000; // a QRIS payment's limit

export async function render({ id }) {
	const store = await get(`/api/v1/merchants/${encodeURIComponent(id)}`);
	const area = h('div', { class: 'charge-area' });
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	let key = idempotencyKey(); // a till that retries after a lost answer gets the same charge
	const form = h('form', { class: 'charge-form', oninput: () => { key = idempotencyKey(); }, onsubmit: onSubmit(status, async (f) => {
		const amount = parseRupiah(f.elements.amount.value);
		if (amount === null || Number(amount) < 1 || Number(amount) > MAX) {
			status.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, t('charge.bad_amount')));
			return;
		}
		const payment = await post(`/api/v1/merchants/${store.id}/charges`, { amount: Number(amount) }, { 'Idempotency-Key': key });
		form.hidden = true;
		const again = h('button', { type: 'button', class: 'secondary', id: 'new-charge', onclick: () => {
			leave(); // this charge's stream and countdown
			key = idempotencyKey();
			form.reset();
			form.hidden = false;
			area.replaceChildren();
			form.elements.amount.focus();
		} }, t('charge.again'));
		const receipt = h('p', { hidden: true }, h('a', { href: `#/receipt/${payment.id}`, id: 'to-receipt' }, t('pay.to_receipt')));
		area.replaceChildren(paymentPanel(payment, { onChange: (p) => { receipt.hidden = !hasReceipt(p); } }), receipt, again);
	}) },
	field('amount', t('charge.amount'), { inputmode: 'numeric', required: true, autocomplete: 'off' }, t('charge.amount_hint')),
	status,
	h('button', { type: 'submit' }, t('charge.show_qr')));
	return [h('h1', {}, t('charge.heading', { store: store.name })), form, area,
		h('p', {}, h('a', { href: `#/merchant/${store.id}` }, t('product_form.back')))];
}
