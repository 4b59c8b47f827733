// An in-store charge: the merchant types an amount, the QRIS code shows
// large, and turns to paid by itself when the customer pays
// (POST /api/v1/merchants/{id}/charges, then the payment panel). Below it,
// today's charges (the WIB day), newest first, each with its status and,
// once its money is in the books, its receipt; read again when a charge is
// made and when its status changes.
import { h, field, onSubmit, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, idempotencyKey } from '../api.js';
import { formatRupiah, parseRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { paymentPanel, hasReceipt } from '../payview.js';
import { leave } from '../router.js';
import { wibDate } from './audit-common.js';

const MAX = 10000000; // a QRIS payment's limit
const TODAY_PAGES = 10; // of 100 charges: a till's day is far below 1,000

// The store's charges made today (WIB), newest first.
async function todaysCharges(storeId) {
	const today = wibDate({ day: true });
	const items = [];
	let cursor = null;
	for (let pages = 0; pages < TODAY_PAGES; pages++) {
		const page = await get(`/api/v1/merchants/${storeId}/charges`, { limit: 100, cursor });
		const todays = page.items.filter((c) => wibDate({ day: true, now: Date.parse(c.created_at) }) === today);
		items.push(...todays);
		if (todays.length < page.items.length || !page.next_cursor) break;
		cursor = page.next_cursor;
	}
	return items;
}

function chargeRow(c) {
	return h('li', { class: 'card-row charge-row', 'data-payment-id': c.id, 'data-status': c.status },
		h('span', { class: 'price' }, formatRupiah(c.amount)), ' ',
		h('span', { class: 'badge charge-status' }, t(`pay.status.${c.status}`)), ' ',
		h('span', { class: 'muted' }, formatTime(c.paid_at ?? c.created_at)),
		hasReceipt(c) ? h('span', {}, ' · ', h('a', { href: `#/receipt/${c.id}`, class: 'charge-receipt' }, t('charge.receipt'))) : null);
}

// The section of today's charges and a refresh() that reads them again (the last call wins).
function todaysSection(storeId) {
	const section = h('section', { class: 'todays-charges', 'aria-labelledby': 'todays-heading' });
	let latest = 0;
	const refresh = async () => {
		const mine = ++latest;
		let body;
		try {
			const items = await todaysCharges(storeId);
			// What the day's charges brought in: paid ones less what was refunded of them.
			const settled = items.filter(hasReceipt);
			const paid = settled.reduce((sum, c) => sum + BigInt(c.amount) - BigInt(c.refunded), 0n);
			body = items.length
				? [h('p', { id: 'todays-paid' }, t('charge.today_paid', { count: settled.length, amount: formatRupiah(paid) })),
					h('ul', { class: 'payouts charges', id: 'todays-charges' }, items.map(chargeRow))]
				: [h('p', { class: 'empty' }, t('charge.none_today'))];
		} catch (err) {
			body = [errorBox(err)];
		}
		if (mine === latest) section.replaceChildren(h('h2', { id: 'todays-heading' }, t('charge.today')), ...body);
	};
	return { section, refresh };
}

export async function render({ id }) {
	const store = await get(`/api/v1/merchants/${encodeURIComponent(id)}`);
	const today = todaysSection(store.id);
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
		area.replaceChildren(paymentPanel(payment, { onChange: (p) => { receipt.hidden = !hasReceipt(p); today.refresh(); } }), receipt, again);
	}) },
	field('amount', t('charge.amount'), { inputmode: 'numeric', required: true, autocomplete: 'off' }, t('charge.amount_hint')),
	status,
	h('button', { type: 'submit' }, t('charge.show_qr')));
	await today.refresh();
	return [h('h1', {}, t('charge.heading', { store: store.name })), form, area, today.section,
		h('p', {}, h('a', { href: `#/merchant/${store.id}` }, t('product_form.back')))];
}
