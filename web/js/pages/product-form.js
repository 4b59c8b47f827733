// A store's product, new or edited: title, price, stock and the rest
// (POST /api/v1/merchants/{id}/products, PUT /api/v1/products/{id}).
import { h, field, onSubmit } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, put, idempotencyKey } from '../api.js';
import { parseRupiah } from '../format.js';
import { navigate } from '../router.js';

const WHOLE = /^\d{1,10}$/;

export async function render({ id, pid }) {
	const creating = pid === 'new';
	const p = creating ? { title: '', description: '', price: '', stock: 0, weight_g: 0, category: '', active: true }
		: await get(`/api/v1/products/${encodeURIComponent(pid)}`);
	const status = h('div', { class: 'form-status', 'aria-live': 'assertive' });
	let key = idempotencyKey();
	const onsubmit = onSubmit(status, async (form) => {
		const f = form.elements;
		const price = parseRupiah(f.price.value);
		const stock = f.stock.value.trim();
		const weight = f.weight_g.value.trim() || '0';
		if (price === null || !WHOLE.test(stock) || !WHOLE.test(weight)) {
			status.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, t('product_form.bad_number')));
			return;
		}
		const body = { title: f.title.value.trim(), description: f.description.value, price: Number(price), stock: Number(stock),
			weight_g: Number(weight), category: f.category.value.trim(), active: f.active.checked };
		if (creating) await post(`/api/v1/merchants/${encodeURIComponent(id)}/products`, body, { 'Idempotency-Key': key });
		else await put(`/api/v1/products/${encodeURIComponent(pid)}`, body);
		navigate(`#/merchant/${id}`);
	});
	return [
		h('h1', {}, creating ? t('product_form.new') : t('product_form.edit', { title: p.title })),
		h('form', { class: 'product-form', onsubmit, oninput: () => { key = idempotencyKey(); } },
			field('title', t('product_form.title'), { required: true, maxlength: 120, value: p.title }),
			field('description', t('product_form.description'), { tag: 'textarea', maxlength: 2000, rows: 3, options: [p.description ?? ''] }),
			field('price', t('product_form.price'), { required: true, inputmode: 'numeric', value: p.price }),
			field('stock', t('product_form.stock'), { required: true, inputmode: 'numeric', value: p.stock }),
			field('weight_g', t('product_form.weight'), { inputmode: 'numeric', value: p.weight_g }),
			field('category', t('product_form.category'), { required: true, maxlength: 32, pattern: '[a-z0-9\\-]{1,32}', value: p.category },
				t('product_form.category_hint')),
			h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'active', id: 'active', checked: p.active }), ` ${t('product_form.active')}`),
			status,
			h('button', { type: 'submit' }, t('product_form.save'))),
		h('p', {}, h('a', { href: `#/merchant/${id}` }, t('product_form.back'))),
	];
}
