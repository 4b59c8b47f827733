// Unit tests of web/js/i18n.js and its message tables (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { t, setLang, lang, onLangChange, LANGUAGES, DEFAULT_LANG } from '../../web/js/i18n.js';

test('Bahasa Indonesia is the default', () => {
	assert.equal(DEFAULT_LANG, 'id');
	setLang('id', { remember: false });
	assert.equal(t('nav.signin'), 'Masuk');
});

test('the English switch changes the messages and tells listeners', () => {
	const seen = [];
	const off = onLangChange((code) => seen.push(code));
	setLang('en', { remember: false });
	assert.equal(lang(), 'en');
	assert.equal(t('nav.signin'), 'Sign in');
	setLang('xx', { remember: false });
	assert.equal(lang(), 'id', 'an unknown language falls back to the default');
	off();
	setLang('en', { remember: false });
	assert.deepEqual(seen, ['en', 'id']);
});

test('placeholders are filled; unknown ones and keys show plainly', () => {
	setLang('id', { remember: false });
	assert.equal(t('session.as', { username: 'siti' }), 'Masuk sebagai siti');
	assert.equal(t('session.as'), 'Masuk sebagai {username}');
	assert.equal(t('no.such.key'), 'no.such.key');
});

test('every language has every key, with the same placeholders', () => {
	const placeholders = (s) => (typeof s === 'string' ? [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort() : []);
	const ids = Object.keys(LANGUAGES.id).sort();
	for (const [code, table] of Object.entries(LANGUAGES)) {
		assert.deepEqual(Object.keys(table).sort(), ids, `keys of ${code}`);
		for (const key of ids)
			assert.deepEqual(placeholders(table[key]), placeholders(LANGUAGES.id[key]), `${code} ${key}`);
		assert.equal(table.months.length, 12, `${code} months`);
	}
});
