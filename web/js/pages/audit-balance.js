// The trial balance: every account's balances at a moment (a WIB time or a
// sequence; now by default) and per ledger the totals, with the server's
// verdict that debits equal credits shown plainly; a CSV download of it.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { auditNav, filterForm, hashWith, wibParam, table, downloadButton, needRole, screen } from './audit-common.js';

const SIDES = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'];

function balancedBadge(ok, id) {
	return h('p', { class: `verdict ${ok ? 'verdict-verified' : 'verdict-failed'}`, id, 'data-balanced': String(ok) },
		ok ? t('audit.balance.balanced') : t('audit.balance.unbalanced'));
}

export async function render({ params }) {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const asOf = params.get('as_of') ?? '';
	const asOfSeq = params.get('as_of_seq') ?? '';
	const moment = { as_of: wibParam(asOf), as_of_seq: asOfSeq };
	const tb = await get('/api/v1/ledger/trial-balance', { ...moment, cursor: params.get('cursor'), limit: 100 });
	const sideHeads = SIDES.map((s) => t(`audit.side.${s}`));
	return screen(
		h('h1', {}, t('audit.balance.heading')),
		auditNav('balance'),
		filterForm('#/audit/balance', [
			{ name: 'as_of', label: t('audit.balance.as_of'), type: 'datetime-local', value: asOf },
			{ name: 'as_of_seq', label: t('audit.balance.as_of_seq'), type: 'number', value: asOfSeq, inputmode: 'numeric' },
		], 'balance-filters'),
		h('p', { id: 'balance-moment' }, t('audit.balance.moment', { seq: tb.as_of_seq, head: tb.head_seq })),
		balancedBadge(tb.balanced, 'balanced'),
		h('h2', {}, t('audit.balance.ledgers')),
		table([t('audit.ledger'), t('audit.accounts'), ...sideHeads, t('audit.balance.verdict')],
			tb.ledgers.map((l) => [String(l.ledger), String(l.accounts), ...SIDES.map((s) => formatRupiah(l[s])),
				h('span', { class: l.balanced ? 'ok' : 'bad', 'data-balanced': String(l.balanced) }, l.balanced ? t('audit.balance.balanced') : t('audit.balance.unbalanced'))]),
			{ className: 'ledgers', numeric: [1, 2, 3, 4, 5], label: t('audit.balance.ledgers') }),
		downloadButton('balance-csv', t('audit.csv'), '/api/v1/ledger/trial-balance.csv', moment, 'trial-balance.csv'),
		h('h2', {}, t('audit.accounts')),
		table([t('audit.account'), ...sideHeads],
			tb.accounts.map((a) => [h('a', { href: `#/audit/account/${a.id}` }, a.name), ...SIDES.map((s) => formatRupiah(a[s]))]),
			{ className: 'accounts', numeric: [1, 2, 3, 4], label: t('audit.accounts') }),
		tb.next_cursor ? h('p', {}, h('a', { class: 'button', id: 'balance-next',
			href: hashWith('#/audit/balance', { as_of: asOf, as_of_seq: asOfSeq || String(tb.as_of_seq), cursor: tb.next_cursor }) }, t('audit.next'))) : null,
	);
}
