// Messages in the person's language: Bahasa Indonesia by default, English on
// request. The choice is kept in localStorage (it is not a secret).
import { webStorage } from './storage.js';
import id from './i18n/id.js';
import en from './i18n/en.js';

export const LANGUAGES = { id, en };
export const DEFAULT_LANG = 'id';
const STORAGE_KEY = 'bangsoleh.lang';

let current = DEFAULT_LANG;
const listeners = new Set();

const storage = () => webStorage('localStorage');

export function lang() {
	return current;
}

// Sets the language ('id' or 'en'; anything else is the default) and tells the listeners.
export function setLang(code, { remember = true } = {}) {
	current = Object.hasOwn(LANGUAGES, code) ? code : DEFAULT_LANG;
	if (remember) storage()?.setItem(STORAGE_KEY, current);
	if (globalThis.document) document.documentElement.lang = current;
	for (const fn of listeners) fn(current);
	return current;
}

// The remembered language, or the default.
export function initLang() {
	return setLang(storage()?.getItem(STORAGE_KEY) ?? DEFAULT_LANG, { remember: false });
}

export function onLangChange(fn) {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

// The message for key with {name} placeholders filled from params; falls back
// to Bahasa Indonesia, then to the key itself, so a missing text shows up plainly.
export function t(key, params = {}) {
	const table = LANGUAGES[current];
	const text = Object.hasOwn(table, key) ? table[key] : Object.hasOwn(id, key) ? id[key] : key;
	if (typeof text !== 'string') return text;
	return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}
