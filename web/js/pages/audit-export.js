// The auditors' export of a period (WIB dates) as a .tar to verify offline
// with `bangsoleh audit verify` (docs/audit.md, "Export"), downloaded with the
// bearer token.
import { h, field } from '../dom.js';
import { t } from '../i18n.js';
import { auditNav, wibDate, downloadButton, needRole, screen } from './audit-common.js';

export function render() {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	const from = field('export-from', t('audit.filter.from_date'), { type: 'date', value: wibDate({ day: true }) });
	const to = field('export-to', t('audit.filter.to_date'), { type: 'date', value: wibDate({ day: true, now: Date.now() + 86400000 }) });
	const value = (box) => box.querySelector('input').value;
	return screen(
		h('h1', {}, t('audit.export.heading')),
		auditNav('export'),
		h('p', {}, t('audit.export.intro')),
		h('div', { class: 'row' }, from, to),
		downloadButton('export-download', t('audit.export.download'), '/api/v1/audit/export',
			() => ({ from: value(from), to: value(to) }), 'bangsoleh-export.tar'),
		h('p', { class: 'muted small' }, t('audit.export.hint')),
	);
}
