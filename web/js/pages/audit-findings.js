// What deserves a look in a period (this month by default), grouped by kind,
// each finding with the objects it names and the figures that raise it.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { auditNav, filterForm, wibDate, needRole, screen } from './audit-common.js';
import { figure } from './audit-reports.js';

const KINDS = ['amount_mismatch', 'late_payment_refunded', 'refund_ratio', 'completed_without_delivery', 'payouts_over_sales'];
const MONEY = new Set(['amount', 'reported', 'paid_amount', 'refunded', 'payments_value', 'refunds_value', 'payouts_value', 'sales_value']);

// States shown in the person's language; the rest as the API gives them.
const STATES = { order_state: 'order.state', shipment_state: 'shipment.state' };

function value(name, v) {
	if (v === null) return '—';
	if (MONEY.has(name)) return figure('payments_value', v);
	return STATES[name] ? t(`${STATES[name]}.${v}`) : String(v);
}

function finding(f) {
	return h('li', { class: 'finding panel' }, h('dl', {}, Object.entries(f).filter(([k]) => k !== 'kind')
		.flatMap(([k, v]) => [h('dt', {}, t(`audit.field.${k}`)), h('dd', {}, value(k, v))])));
}

export async function render({ params }) {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const from = params.get('from') || wibDate();
	const to = params.get('to') || wibDate({ monthsBack: -1 });
	const answer = await get('/api/v1/audit/findings', { from, to });
	return screen(
		h('h1', {}, t('audit.findings.heading')),
		auditNav('findings'),
		filterForm('#/audit/findings', [
			{ name: 'from', label: t('audit.filter.from_date'), type: 'date', value: from },
			{ name: 'to', label: t('audit.filter.to_date'), type: 'date', value: to },
		], 'findings-filters'),
		h('p', { class: 'muted' }, t('audit.findings.scanned', { entries: answer.entries_scanned, payments: answer.payments_scanned,
			bps: answer.refund_ratio_bps })),
		KINDS.map((kind) => {
			const list = answer.findings.filter((f) => f.kind === kind);
			return h('section', { class: 'finding-kind', 'data-kind': kind, 'data-count': answer.counts[kind] },
				h('h2', {}, t(`audit.finding.${kind}`), ' ', h('span', { class: 'count' }, String(answer.counts[kind]))),
				h('p', { class: 'muted small' }, t(`audit.finding_hint.${kind}`)),
				list.length ? h('ul', { class: 'findings' }, list.map(finding)) : h('p', { class: 'empty' }, t('audit.findings.none')));
		}),
	);
}
