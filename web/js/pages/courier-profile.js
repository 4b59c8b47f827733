// The city courier's profile: the name, phone and plate buyers see on their
// tracking, and the bank account their payouts go to (PUT /api/v1/courier/profile).
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, put, ApiError } from '../api.js';
import { navigate } from '../router.js';

const FIELDS = [
	['name', { maxlength: 64, autocomplete: 'name' }],
	['phone', { inputmode: 'tel', maxlength: 21, autocomplete: 'tel', pattern: '\\+?[0-9]{0,20}' }],
	['plate', { maxlength: 16, pattern: '[A-Za-z0-9 ]{0,16}', autocapitalize: 'characters' }],
	['bank_code', { maxlength: 16 }],
	['bank_account', { inputmode: 'numeric', maxlength: 34, pattern: '[0-9]{0,34}' }],
	['bank_name', { maxlength: 64 }],
];

export async function render() {
	const profile = await get('/api/v1/courier/profile').catch((err) => { if (err instanceof ApiError && err.status === 404) return null; throw err; });
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	const form = h('form', { class: 'courier-profile', id: 'profile-form', onsubmit: onSubmit(status, async (f) => {
		const body = {};
		for (const [name] of FIELDS) {
			const value = f.elements[name].value.trim();
			if (value || profile?.[name]) body[name] = name === 'plate' ? value.toUpperCase() : value;
		}
		if (body.name === '') delete body.name; // a name cannot be cleared, only changed
		await put('/api/v1/courier/profile', body);
		navigate('#/courier');
	}) },
	h('h2', {}, t('courier.profile_public')),
	FIELDS.slice(0, 3).map(([name, attrs]) => field(name, t(`courier.field.${name}`), { ...attrs, value: profile?.[name] ?? '' })),
	h('h2', {}, t('courier.profile_bank')),
	h('p', { class: 'hint' }, t('courier.bank_hint')),
	FIELDS.slice(3).map(([name, attrs]) => field(name, t(`courier.field.${name}`), { ...attrs, value: profile?.[name] ?? '' })),
	status,
	h('button', { type: 'submit' }, t('courier.save')));
	return [h('h1', {}, t('courier.profile')), profile ? null : h('p', { class: 'note', id: 'profile-new' }, t('courier.profile_new')), form,
		h('p', {}, h('a', { href: '#/courier' }, t('earnings.to_jobs')))];
}
