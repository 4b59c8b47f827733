// The money of a payable account on screen, for a store's owner and for a
// city courier alike (the same endpoints under base: "/api/v1/merchants/{id}"
// or "/api/v1/courier", docs/api.md "Payouts and statements"): the balance,
// a payout request, the payouts with their states, and the statement over a
// period the person picks (WIB dates, in the hash) with the server's opening
// and closing figures of the period.
import { h, field, errorBox, onSubmit, scrollBox } from './dom.js';
import { t } from './i18n.js';
import { get, post, idempotencyKey } from './api.js';
import { formatRupiah, parseRupiah } from './format.js';
import { formatTime } from './time.js';
import { navigate } from './router.js';
import { effect, payoutProblem, payoutOpen, statementPeriod } from './money.js';
import { filterForm, hashWith } from './pages/audit-common.js';

const PAGE = 20;

export function payoutBadge(status) {
	return h('span', { class: `badge payout-${status}`, 'data-status': status }, t(`money.payout.${status}`));
}

function balancePanel(b) {
	return h('dl', { class: 'totals balance', id: 'balance', 'data-available': b.available, 'data-balance': b.balance },
		h('dt', {}, t('money.balance')), h('dd', { id: 'balance-total', class: 'price' }, formatRupiah(b.balance)),
		h('dt', {}, t('money.pending')), h('dd', { id: 'balance-pending' }, formatRupiah(b.pending)),
		h('dt', {}, t('money.available')), h('dd', { id: 'balance-available', class: 'price big' }, formatRupiah(b.available)));
}

function payoutForm(base, balance, payouts, again) {
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	let key = idempotencyKey(); // a repeat after a lost answer makes no second payout
	const busy = payoutOpen(payouts);
	const form = h('form', { class: 'payout-form', id: 'payout-form', oninput: () => { key = idempotencyKey(); }, onsubmit: onSubmit(status, async (f) => {
		const digits = parseRupiah(f.elements['payout-amount'].value);
		const problem = payoutProblem(digits, balance.available);
		if (problem) {
			status.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-code': `local_${problem}` },
				t(`money.payout_${problem}`, { available: formatRupiah(balance.available) })));
			return;
		}
		await post(`${base}/payouts`, { amount: Number(digits) }, { 'Idempotency-Key': key });
		again();
	}) },
	field('payout-amount', t('money.payout_amount'), { inputmode: 'numeric', required: true, autocomplete: 'off', disabled: busy },
		t('money.payout_hint', { available: formatRupiah(balance.available) })),
	status,
	h('button', { type: 'submit', disabled: busy }, t('money.payout_ask')));
	const note = busy ? [h('p', { class: 'note', id: 'payout-busy' }, t('money.payout_busy'))] : [];
	return [h('h2', {}, t('money.payout_heading')), ...note, form];
}

function payoutList(payouts) {
	if (!payouts.length) return h('p', { class: 'empty', id: 'no-payouts' }, t('money.no_payouts'));
	return h('ul', { class: 'payouts', id: 'payouts' }, payouts.map((p) => h('li', { class: 'card-row', 'data-payout-id': p.id, 'data-status': p.status },
		h('span', { class: 'price' }, formatRupiah(p.amount)), ' ', payoutBadge(p.status), ' ',
		h('span', { class: 'muted' }, t('money.payout_to', { bank: p.bank_code, account: p.bank_account, time: formatTime(p.created_at) })),
		p.failure_reason ? h('p', { class: 'form-error' }, p.failure_reason) : null)));
}

// A signed amount: what the entry did to the account (a hold shows what it took from the available money).
function entryAmount(e) {
	const d = effect(e);
	return formatRupiah(d.balance !== 0n ? d.balance : d.available);
}

// The statement's page between the period's closing (top: newest first) and opening.
function statementTable(statement) {
	const row = (label, f, id) => h('tr', { class: 'figures', id },
		h('th', { scope: 'row', colspan: 2 }, label), h('td', { class: 'n' }, ''),
		h('td', { class: 'n' }, formatRupiah(f.balance)), h('td', { class: 'n' }, formatRupiah(f.available)));
	return scrollBox(t('money.statement'), h('table', { class: 'statement', id: 'statement' },
		h('caption', { class: 'muted' }, t('money.statement_caption')),
		h('thead', {}, h('tr', {}, ...['money.col.time', 'money.col.what', 'money.col.amount', 'money.col.balance', 'money.col.available']
			.map((k) => h('th', { scope: 'col' }, t(k))))),
		h('tbody', {},
			row(t('money.closing'), statement.closing, 'closing'),
			statement.entries.length ? null : h('tr', { id: 'no-entries' }, h('td', { colspan: 5, class: 'empty' }, t('money.no_entries'))),
			statement.entries.map((e) => h('tr', { 'data-seq': e.seq, 'data-reason': e.reason, 'data-kind': e.kind },
				h('td', {}, h('time', { datetime: e.at }, formatTime(e.at))),
				h('td', {}, t(`money.reason.${e.reason}`), e.kind === 'transfer' ? '' : ` · ${t(`money.kind.${e.kind}`)}`),
				h('td', { class: 'n amount' }, entryAmount(e)),
				h('td', { class: 'n' }, formatRupiah(e.balance)), h('td', { class: 'n' }, formatRupiah(e.available)))),
			row(t('money.opening'), statement.opening, 'opening'))));
}

// The screen's parts for the account at base. hashPath is the screen's own
// hash without parameters (the period adds ?from=&to=, older pages &cursor=).
export async function moneyView(base, hashPath, params) {
	const cursor = params.get('cursor') ?? undefined;
	const from = params.get('from') ?? '';
	const to = params.get('to') ?? '';
	const path = `#${hashPath}`;
	// A bad period shows its error in the statement's place; the rest of the screen stays.
	const statementCall = (async () => get(`${base}/statement`, { ...statementPeriod(from, to), cursor, limit: PAGE }))()
		.catch((err) => ({ err }));
	const [balance, statement, payouts] = await Promise.all([get(`${base}/balance`), statementCall,
		get(`${base}/payouts`, { limit: PAGE })]);
	const again = () => navigate(path);
	return [
		balancePanel(balance),
		...payoutForm(base, balance, payouts.payouts, again),
		h('h2', {}, t('money.payouts')),
		payoutList(payouts.payouts),
		h('h2', {}, t('money.statement')),
		filterForm(path, [
			{ name: 'from', label: t('money.filter.from'), type: 'date', value: from },
			{ name: 'to', label: t('money.filter.to'), type: 'date', value: to },
		], 'statement-filters'),
		statement.err ? errorBox(statement.err) : statementTable(statement),
		h('p', {}, cursor ? h('a', { href: hashWith(path, { from, to }), id: 'statement-newest' }, t('money.newest')) : null, ' ',
			statement.next_cursor ? h('a', { href: hashWith(path, { from, to, cursor: statement.next_cursor }), id: 'statement-older' }, t('money.older')) : null),
	];
}
