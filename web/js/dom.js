// Building the page from elements, never from HTML strings: every text the
// API sends is set as text, so it cannot inject markup.
import { t } from './i18n.js';
import { ApiError } from './api.js';

// h('a', {href: '#/'}, 'text', child...): attributes starting with "on" are listeners.
export function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [name, value] of Object.entries(attrs ?? {})) {
		if (value === undefined || value === null || value === false) continue;
		if (name.startsWith('on')) el.addEventListener(name.slice(2).toLowerCase(), value);
		else if (value === true) el.setAttribute(name, '');
		else el.setAttribute(name, String(value));
	}
	el.append(...nodes(children));
	return el;
}

// Children as nodes: arrays flattened, null, undefined and false left out
// (so a part shown only sometimes can be `cond ? part : null`), the rest as text.
export function nodes(children) {
	return [children].flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false)
		.map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

// A labelled form field; hint (optional) is tied to the input with aria-describedby.
export function field(id, label, { tag = 'input', options = [], ...attrs }, hint) {
	const hintId = hint ? `${id}-hint` : undefined;
	return h('div', { class: 'field' },
		h('label', { for: id }, label),
		h(tag, { id, name: id, 'aria-describedby': hintId, ...attrs }, ...options),
		hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
}

// The message a person reads for a failed call: the code's text in their
// language, and the server's own message under it.
export function errorBox(err) {
	const api = err instanceof ApiError ? err : new ApiError(0, 'generic', String(err?.message ?? err));
	const known = t(`error.${api.code}`);
	const title = known === `error.${api.code}` ? t('error.generic') : known;
	return h('div', { class: 'error', role: 'alert', 'data-code': api.code },
		h('p', { class: 'error-title' }, api.code === 'network' ? t('error.network') : title),
		api.code === 'network' ? null : h('p', { class: 'error-detail' }, t('error.detail', { message: api.message })));
}

// A wide table's box, scrolled sideways on a narrow screen: it takes focus, so
// the keyboard can scroll it too, and is named (label) for screen readers.
export function scrollBox(label, table) {
	return h('div', { class: 'table-scroll', role: 'region', tabindex: 0, 'aria-label': label }, table);
}

export function loading() {
	return h('p', { class: 'loading', role: 'status' }, t('loading'));
}

// A form's submit listener: keeps the browser from loading a page, disables
// the submit button and clears status while work(form) runs, and shows a
// failure's error box in status.
export function onSubmit(status, work) {
	return async (event) => {
		event.preventDefault();
		const form = event.target;
		const button = form.querySelector('button[type="submit"]');
		button.disabled = true;
		status.replaceChildren();
		try {
			await work(form);
		} catch (err) {
			status.replaceChildren(errorBox(err));
		} finally {
			button.disabled = false;
		}
	};
}
