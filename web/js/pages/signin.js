// Sign-in with the API's bearer token.
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { signIn } from '../api.js';
import { navigate } from '../router.js';

export function signInForm({ username = '', after = '#/' } = {}) {
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	const onsubmit = onSubmit(status, async (form) => {
		try {
			await signIn(form.elements.username.value.trim(), form.elements.password.value);
		} catch (err) {
			form.elements.password.select();
			throw err;
		}
		navigate(after);
	});
	return h('form', { class: 'signin-form', onsubmit },
		field('username', t('signin.username'), { autocomplete: 'username', required: true, value: username, autocapitalize: 'none', spellcheck: 'false' }),
		field('password', t('signin.password'), { type: 'password', autocomplete: 'current-password', required: true }),
		status,
		h('button', { type: 'submit' }, t('signin.submit')));
}

export function render({ params }) {
	return [
		h('h1', {}, t('signin.heading')),
		signInForm({ username: params.get('username') ?? '' }),
		h('p', {}, `${t('signin.no_account')} `, h('a', { href: '#/register' }, t('nav.register'))),
	];
}
