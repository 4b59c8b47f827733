// Payments per WIB day or month: the volume (count) and value (rupiah) drawn
// as bar charts, the figures in a table, and the report's CSV.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { formatRupiah } from '../format.js';
import { barChart, shortNumber } from '../chart.js';
import { auditNav, filterForm, wibDate, table, downloadButton, needRole, screen } from './audit-common.js';

const FIGURES = ['payments', 'payments_value', 'in_store', 'in_store_value', 'online', 'online_value', 'refunds', 'refunds_value',
	'mdr', 'commission', 'fees', 'payouts', 'payouts_value'];
const MONEY = new Set(['payments_value', 'in_store_value', 'online_value', 'refunds_value', 'mdr', 'commission', 'fees', 'payouts_value']);

export const figure = (name, value) => (MONEY.has(name) ? formatRupiah(value) : String(value));

// The charts' width: the screen's less the page's margins, within 280 to 720 px.
const chartWidth = () => Math.min(720, Math.max(280, (globalThis.innerWidth ?? 720) - 32));

const units = () => [[1e9, t('audit.unit.billion')], [1e6, t('audit.unit.million')], [1e3, t('audit.unit.thousand')]];

export async function render({ params }) {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const period = params.get('period') === 'month' ? 'month' : 'day';
	const from = params.get('from') || (period === 'day' ? wibDate() : wibDate({ monthsBack: 11 }));
	const to = params.get('to') || wibDate({ monthsBack: -1 }); // the first of next month
	const query = { period, from, to };
	const report = await get('/api/v1/audit/reports', query);
	const labels = report.periods.map((p) => p.period);
	const column = (name) => report.periods.map((p) => p.totals[name]);
	return screen(
		h('h1', {}, t('audit.reports.heading')),
		auditNav('reports'),
		filterForm('#/audit/reports', [
			{ name: 'period', label: t('audit.reports.period'), value: period,
				options: [['day', t('audit.reports.day')], ['month', t('audit.reports.month')]] },
			{ name: 'from', label: t('audit.filter.from_date'), type: 'date', value: from },
			{ name: 'to', label: t('audit.filter.to_date'), type: 'date', value: to },
		], 'report-filters'),
		h('h2', { id: 'chart-count-heading' }, t('audit.reports.count_chart')),
		h('figure', { class: 'chart-box', id: 'chart-count' }, barChart({ labels, values: column('payments'), width: chartWidth(),
			title: t('audit.reports.count_chart'), barTitle: (l, v) => `${l}: ${v}` })),
		h('h2', { id: 'chart-value-heading' }, t('audit.reports.value_chart')),
		h('figure', { class: 'chart-box', id: 'chart-value' }, barChart({ labels, values: column('payments_value'), width: chartWidth(),
			title: t('audit.reports.value_chart'), className: 'chart chart-value',
			tickLabel: (v) => shortNumber(v, units(), t('audit.decimal')), barTitle: (l, v) => `${l}: ${formatRupiah(v)}` })),
		downloadButton('report-csv', t('audit.csv'), '/api/v1/audit/reports', { ...query, format: 'csv' }, 'audit-report.csv'),
		h('h2', {}, t('audit.reports.table')),
		table([t('audit.reports.period'), ...FIGURES.map((f) => t(`audit.figure.${f}`))],
			report.periods.map((p) => [p.period, ...FIGURES.map((f) => figure(f, p.totals[f]))]),
			{ className: 'report-table', numeric: FIGURES.map((_, i) => i + 1), label: t('audit.reports.table') }),
		h('p', { class: 'muted small' }, t('audit.reports.scanned', { count: report.entries_scanned })),
	);
}
