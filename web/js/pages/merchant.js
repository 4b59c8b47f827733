// A merchant's stores with their verification state, and registering a new
// one (POST /api/v1/merchants: pending until the city verifies it).
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, idempotencyKey } from '../api.js';
import { session } from '../session.js';
import { navigate } from '../router.js';
import { signInForm } from './signin.js';

const FIELDS = [
	['name', { required: true, maxlength: 64 }],
	['category', { maxlength: 32 }],
	['address', { maxlength: 200, autocomplete: 'street-address' }],
	['city', { required: true, maxlength: 15 }],
	['postal_code', { required: true, inputmode: 'numeric', pattern: '[0-9]{1,10}', maxlength: 10 }],
	['phone', { inputmode: 'tel', maxlength: 21, pattern: '\\+?[0-9]{1,20}' }],
	['hours', { maxlength: 100 }],
	['nmid', { required: true, maxlength: 15 }],
	['bank_code', { maxlength: 16 }],
	['bank_account', { inputmode: 'numeric', maxlength: 34, pattern: '[0-9]{1,34}' }],
	['bank_name', { maxlength: 64 }],
];
const CRITERIA = ['UMI', 'UKE', 'UME', 'UBE'];

export function storeState(status) {
	return h('span', { class: `badge store-${status}`, 'data-status': status }, t(`store.status.${status}`));
}

function registerForm() {
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	let key = idempotencyKey();
	const onsubmit = onSubmit(status, async (form) => {
		const body = { criteria: form.elements.criteria.value };
		for (const [name] of FIELDS) {
			const value = form.elements[name].value.trim();
			if (value) body[name] = value;
		}
		const store = await post('/api/v1/merchants', body, { 'Idempotency-Key': key });
		navigate(`#/merchant/${store.id}`);
	});
	return h('form', { class: 'store-form', onsubmit, oninput: () => { key = idempotencyKey(); } },
		...FIELDS.slice(0, 8).map(([name, attrs]) => field(`store-${name}`, t(`store.field.${name}`), { ...attrs, name })),
		field('store-criteria', t('store.field.criteria'), { tag: 'select', name: 'criteria',
			options: CRITERIA.map((c) => h('option', { value: c }, t(`store.criteria.${c}`))) }),
		...FIELDS.slice(8).map(([name, attrs]) => field(`store-${name}`, t(`store.field.${name}`), { ...attrs, name })),
		status,
		h('button', { type: 'submit' }, t('merchant.register')));
}

export async function render() {
	if (session()?.user.role !== 'merchant')
		return [h('h1', {}, t('merchant.heading')), h('p', {}, t('merchant.signin_first')), signInForm({ after: '#/merchant' })];
	const mine = await get('/api/v1/me/merchants', { limit: 50 });
	return [
		h('h1', {}, t('merchant.heading')),
		mine.items.length
			? h('ul', { class: 'my-stores' }, mine.items.map((m) => h('li', { class: 'card', 'data-store-id': m.id },
				h('a', { href: `#/merchant/${m.id}` }, h('span', { class: 'card-title' }, m.name), storeState(m.status)))))
			: h('p', { class: 'empty' }, t('merchant.none')),
		h('h2', {}, t('merchant.new')),
		registerForm(),
	];
}
