// Registration of a shopper or a merchant, then sign-in with the same details.
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { register, signIn } from '../api.js';
import { navigate } from '../router.js';

export function render() {
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	const onsubmit = onSubmit(status, async (form) => {
		const username = form.elements.username.value.trim();
		const password = form.elements.password.value;
		await register(username, password, form.elements.role.value);
		await signIn(username, password);
		navigate('#/');
	});
	const roles = ['shopper', 'merchant'].map((role) =>
		h('option', { value: role }, t(`register.role.${role}`)));
	return [
		h('h1', {}, t('register.heading')),
		h('form', { class: 'register-form', onsubmit },
			field('username', t('signin.username'), { autocomplete: 'username', required: true, minlength: 3, maxlength: 32, autocapitalize: 'none', spellcheck: 'false' }, t('register.hint.username')),
			field('password', t('signin.password'), { type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 256 }, t('register.hint.password')),
			field('role', t('register.role'), { tag: 'select', options: roles }),
			status,
			h('button', { type: 'submit' }, t('register.submit'))),
		h('p', {}, `${t('register.have_account')} `, h('a', { href: '#/signin' }, t('nav.signin'))),
	];
}
