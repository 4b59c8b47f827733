// An account's statement over a period (WIB times, or all of it): the
// balances at its start and end, and its entries with the balances after each.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { auditNav, filterForm, hashWith, wibParam, table, needRole, screen } from './audit-common.js';

const SIDES = ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted'];

export async function render({ id, params }) {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const from = params.get('from') ?? '';
	const to = params.get('to') ?? '';
	const path = `#/audit/account/${encodeURIComponent(id)}`;
	const st = await get(`/api/v1/ledger/accounts/${encodeURIComponent(id)}/statement`,
		{ from: wibParam(from), to: wibParam(to), cursor: params.get('cursor'), limit: 100 });
	const balances = (b) => SIDES.map((s) => formatRupiah(b[s]));
	return screen(
		h('h1', {}, t('audit.account.heading', { name: st.account.name })),
		auditNav(null),
		h('p', { class: 'mono small' }, st.account.id),
		filterForm(path, [
			{ name: 'from', label: t('audit.filter.from'), type: 'datetime-local', value: from },
			{ name: 'to', label: t('audit.filter.to'), type: 'datetime-local', value: to },
		], 'statement-filters'),
		h('p', {}, t('audit.account.period', { from: st.from_seq, to: st.to_seq, head: st.head_seq })),
		table(['', ...SIDES.map((s) => t(`audit.side.${s}`))], [
			[t('audit.account.opening'), ...balances(st.opening)],
			[t('audit.account.closing'), ...balances(st.closing)],
		], { className: 'statement-balances', numeric: [1, 2, 3, 4], label: `${t('audit.account.opening')} · ${t('audit.account.closing')}` }),
		h('h2', {}, t('audit.account.entries')),
		st.entries.length
			? table([t('audit.seq'), t('audit.time'), t('audit.filter.reason'), t('audit.amount'), t('audit.account.side'), ...SIDES.map((s) => t(`audit.side.${s}`))],
				st.entries.map((e) => [String(e.seq), formatTime(e.created_at), e.reason ? t(`audit.reason.${e.reason}`) : String(e.code),
					formatRupiah(e.amount), e.debit_account_id === st.account.id ? t('audit.debit') : t('audit.credit'), ...balances(e.balances)]),
				{ className: 'statement', numeric: [0, 3, 5, 6, 7, 8], label: t('audit.account.entries') })
			: h('p', { class: 'empty' }, t('audit.account.none')),
		st.next_cursor ? h('p', {}, h('a', { class: 'button', id: 'statement-next',
			href: hashWith(path, { from, to, cursor: st.next_cursor }) }, t('audit.next'))) : null,
	);
}
