// What the auditor's and the city officer's screens share: their navigation,
// WIB dates for the API's filters, downloads that need the bearer token, and
// tables of figures. Not a screen itself.
import { h, field, errorBox, scrollBox } from '../dom.js';
import { t } from '../i18n.js';
import { open } from '../api.js';
import { wibParts } from '../format.js';
import { session } from '../session.js';

const AUDIT_PAGES = ['journal', 'balance', 'reports', 'findings', 'checkpoints', 'export'];

// Links between the audit screens; current is the one shown.
export function auditNav(current) {
	return h('nav', { class: 'subnav', 'aria-label': t('audit.nav') },
		AUDIT_PAGES.map((name) => h('a', { href: `#/audit/${name}`, 'aria-current': name === current ? 'page' : null }, t(`audit.nav.${name}`))));
}

const pad2 = (n) => String(n).padStart(2, '0');

// 'YYYY-MM-DD' of the WIB day monthsBack months before the first of this month
// (0: the first of this month), or of today (day = true).
export function wibDate({ monthsBack = 0, day = false, now = Date.now() } = {}) {
	const p = wibParts(now);
	if (day) return `${p.year}-${pad2(p.month)}-${pad2(p.day)}`;
	const index = p.year * 12 + (p.month - 1) - monthsBack;
	return `${Math.floor(index / 12)}-${pad2((index % 12) + 1)}-01`;
}

// The API's time for what a datetime-local or date input holds, read as WIB:
// '2026-11-28T08:00' → '2026-11-28T08:00:00+07:00'; a bare date stays a date
// (the API reads it as midnight WIB); '' stays ''.
export function wibParam(value) {
	return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value ?? '') ? `${value}:00+07:00` : (value ?? '');
}

// A hash with the non-empty values of params: '#/audit/journal?store=2'.
export function hashWith(path, params) {
	const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
	const text = q.toString();
	return text ? `${path}?${text}` : path;
}

// A button that downloads what path (with query) answers, with the bearer
// token (so a plain link cannot do it), under the server's file name. The
// outcome (name and size, or the error) is shown beside it.
export function downloadButton(id, label, path, query, fallbackName) {
	const status = h('p', { class: 'download-status', 'aria-live': 'polite' });
	const button = h('button', { type: 'button', class: 'secondary', id, onclick: async () => {
		button.disabled = true;
		status.replaceChildren(t('loading'));
		try {
			const response = await open('GET', path, { query: typeof query === 'function' ? query() : query, accept: '*/*' });
			const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? fallbackName;
			const blob = await response.blob();
			const url = URL.createObjectURL(blob);
			const a = h('a', { href: url, download: name, hidden: true });
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(url), 60000);
			status.replaceChildren(t('audit.downloaded', { name, size: blob.size }));
			status.dataset.size = String(blob.size);
		} catch (err) {
			status.replaceChildren(errorBox(err));
		} finally {
			button.disabled = false;
		}
	} }, label);
	return h('div', { class: 'download' }, button, status);
}

// A form of filters whose submit goes to the hash of path with their values
// (the filters live in the hash, so a view can be shared and gone back to).
// fields: [{name, label, type?, options?: [[value, text]], value}].
export function filterForm(path, fields, className) {
	return h('form', { class: `filters ${className}`, onsubmit: (e) => {
		e.preventDefault();
		const values = Object.fromEntries(fields.map((f) => [f.name, e.target.elements[f.name].value.trim()]));
		location.hash = hashWith(path, values);
	} },
	h('div', { class: 'filter-fields' }, fields.map((f) => field(`f-${f.name}`, f.label, f.options
		? { tag: 'select', name: f.name, options: f.options.map(([v, text]) => h('option', { value: v, selected: v === f.value }, text)) }
		: { name: f.name, type: f.type ?? 'text', value: f.value ?? '', inputmode: f.inputmode, step: f.step }))),
	h('button', { type: 'submit' }, t('audit.filter.apply')));
}

// A table with a header row; rows are arrays of cells (text or nodes); columns
// in numeric (right-aligned) are given by index; an empty header (the corner
// above the rows' names) is a plain cell. label names the table's box: it must
// differ from the other tables' on the screen.
export function table(headers, rows, { className = '', numeric = [], label = t('table.figures') } = {}) {
	const cls = (i) => (numeric.includes(i) ? 'n' : null);
	return scrollBox(label, h('table', { class: `figures ${className}` },
		h('thead', {}, h('tr', {}, headers.map((text, i) => h(text === '' ? 'td' : 'th', { scope: text === '' ? null : 'col', class: cls(i) }, text)))),
		h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: cls(i) }, cell)))))));
}

// What a render returns: the nodes of parts, nested lists flattened and
// absent parts (null, undefined, false) left out, as <main> takes them.
export function screen(...parts) {
	return parts.flat(Infinity).filter((p) => p !== null && p !== undefined && p !== false);
}

// The signed-in role when it is one of roles; else a message to sign in as one.
export function needRole(roles) {
	const role = session()?.user.role;
	if (roles.includes(role)) return null;
	return [h('h1', {}, t('audit.need_role.heading')), h('p', {}, t('audit.need_role'), ' ', h('a', { href: '#/signin' }, t('nav.signin')))];
}
