// The city officer's desk: this month's totals of the city (from the audit
// reports: payments in store and online, fees, payouts) and the way to the
// stores to verify and the complaints to resolve.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { wibDate, table, needRole, screen } from './audit-common.js';
import { figure } from './audit-reports.js';

const TOTALS = [['payments', 'payments_value'], ['in_store', 'in_store_value'], ['online', 'online_value'], ['refunds', 'refunds_value'],
	['payouts', 'payouts_value']];

export async function render() {
	const denied = needRole(['admin']);
	if (denied) return denied;
	const month = wibDate();
	const report = await get('/api/v1/audit/reports', { period: 'month', from: month, to: wibDate({ monthsBack: -1 }) });
	const totals = report.periods[0]?.totals;
	return screen(
		h('h1', {}, t('admin.heading')),
		h('nav', { class: 'subnav', 'aria-label': t('admin.nav') },
			h('a', { href: '#/admin/stores', id: 'admin-stores' }, t('admin.nav.stores')),
			h('a', { href: '#/admin/complaints', id: 'admin-complaints' }, t('admin.nav.complaints')),
			h('a', { href: '#/audit/journal' }, t('nav.audit'))),
		h('h2', {}, t('admin.totals', { month: month.slice(0, 7) })),
		totals ? [
			h('ul', { class: 'city-totals', id: 'city-totals' },
				h('li', { 'data-figure': 'payments' }, h('span', { class: 'big' }, String(totals.payments)), t('admin.totals.payments')),
				h('li', { 'data-figure': 'payments_value' }, h('span', { class: 'big' }, figure('payments_value', totals.payments_value)), t('admin.totals.value')),
				h('li', { 'data-figure': 'fees' }, h('span', { class: 'big' }, figure('fees', totals.fees)), t('admin.totals.fees'))),
			table(['', t('admin.totals.count'), t('admin.totals.amount')],
				TOTALS.map(([count, value]) => [t(`audit.figure.${count}`), String(totals[count]), figure(value, totals[value])]),
				{ className: 'city-table', numeric: [1, 2], label: t('admin.totals', { month: month.slice(0, 7) }) }),
			table(['', t('admin.totals.amount')], ['mdr', 'commission', 'fees'].map((f) => [t(`audit.figure.${f}`), figure(f, totals[f])]),
				{ className: 'fees-table', numeric: [1], label: t('admin.totals.amount') }),
		] : h('p', { class: 'empty' }, t('admin.totals.none')),
	);
}
