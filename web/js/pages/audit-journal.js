// The auditor's journal: the ledger's entries in sequence order with their
// attribution (what each is about), filtered by time (WIB), account, store,
// courier, provider and reason, page by page with the API's cursor.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { auditNav, filterForm, hashWith, wibParam, needRole, screen } from './audit-common.js';

const REASONS = ['payment', 'release', 'commission', 'shipping', 'refund', 'payout', 'settlement', 'voucher', 'adjustment'];
const FILTERS = ['from', 'to', 'account', 'store', 'courier', 'provider', 'reason'];

// An account by its name (each journal entry names both), leading to its statement.
const accountLink = (id, name) => h('a', { href: `#/audit/account/${id}`, title: id }, name);

function attribution(a) {
	const parts = [t(`audit.kind.${a.kind}`)];
	if (a.payment_kind) parts.push(t(`audit.payment_kind.${a.payment_kind}`));
	if (a.order_id) parts.push(t('order.number', { id: a.order_id }));
	if (a.stores.length) parts.push(t('audit.attr.stores', { ids: a.stores.join(', ') }));
	if (a.courier) parts.push(t('audit.attr.courier', { courier: a.courier }));
	if (a.provider) parts.push(t('audit.attr.provider', { provider: a.provider }));
	return h('p', { class: 'attribution', 'data-kind': a.kind }, parts.join(' · '));
}

function entry(e) {
	return h('li', { class: 'entry', 'data-seq': e.seq, 'data-reason': e.reason ?? '' },
		h('p', {}, h('strong', {}, `#${e.seq}`), ' ', h('span', { class: 'badge' }, e.reason ? t(`audit.reason.${e.reason}`) : String(e.code)),
			' ', h('span', { class: 'price' }, formatRupiah(e.amount)), ' ', h('time', { datetime: e.created_at }, formatTime(e.created_at)),
			e.flags.length ? h('span', { class: 'muted' }, ` (${e.flags.join(', ')})`) : null),
		h('p', { class: 'small' }, t('audit.debit'), ' ', accountLink(e.debit_account_id, e.debit_account_name), ' → ', t('audit.credit'), ' ', accountLink(e.credit_account_id, e.credit_account_name)),
		attribution(e.attribution));
}

export async function render({ params }) {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? '']));
	const page = await get('/api/v1/audit/journal', {
		...filters, from: wibParam(filters.from), to: wibParam(filters.to), cursor: params.get('cursor'), limit: 50,
	});
	const form = filterForm('#/audit/journal', [
		{ name: 'from', label: t('audit.filter.from'), type: 'datetime-local', value: filters.from },
		{ name: 'to', label: t('audit.filter.to'), type: 'datetime-local', value: filters.to },
		{ name: 'account', label: t('audit.filter.account'), value: filters.account },
		{ name: 'store', label: t('audit.filter.store'), type: 'number', value: filters.store, inputmode: 'numeric' },
		{ name: 'courier', label: t('audit.filter.courier'), value: filters.courier },
		{ name: 'provider', label: t('audit.filter.provider'), value: filters.provider },
		{ name: 'reason', label: t('audit.filter.reason'), value: filters.reason,
			options: [['', t('audit.filter.any')], ...REASONS.map((r) => [r, t(`audit.reason.${r}`)])] },
	], 'journal-filters');
	return screen(
		h('h1', {}, t('audit.journal.heading')),
		auditNav('journal'),
		h('details', { class: 'filter-box', open: FILTERS.some((k) => filters[k]) }, h('summary', {}, t('audit.filter.title')), form),
		h('p', { class: 'muted', id: 'journal-scanned' }, t('audit.journal.scanned', { scanned: page.scanned, max: page.scan_max })),
		page.entries.length
			? h('ol', { class: 'journal', id: 'journal' }, page.entries.map(entry))
			: h('p', { class: 'empty' }, t('audit.journal.none')),
		page.next_cursor
			? h('p', {}, h('a', { id: 'journal-next', class: 'button', href: hashWith('#/audit/journal', { ...filters, cursor: page.next_cursor }) }, t('audit.next')))
			: h('p', { class: 'muted', id: 'journal-end' }, t('audit.journal.end')),
	);
}
