// Search with filters. The filters live in the address (#/search?q=…&category=…),
// so a search can be shared, reloaded and gone back to.
import { h, field, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { parseRupiah } from '../format.js';
import { productCard } from '../cards.js';
import { navigate } from '../router.js';

const SORTS = ['newest', 'price_asc', 'price_desc', 'name'];
const FILTERS = ['q', 'category', 'min_price', 'max_price', 'sort'];

function form(params, categories) {
	const onsubmit = (event) => {
		event.preventDefault();
		const data = new FormData(event.target);
		const next = new URLSearchParams();
		for (const name of FILTERS) {
			let value = String(data.get(name) ?? '').trim();
			if (value && (name === 'min_price' || name === 'max_price')) {
				value = parseRupiah(value);
				if (value === null) {
					event.target.querySelector('.form-error').replaceChildren(t('search.bad_price'));
					return;
				}
			}
			if (value && !(name === 'sort' && value === 'newest')) next.set(name, value);
		}
		navigate(`#/search?${next}`);
	};
	const categoryOptions = [h('option', { value: '' }, t('search.category.all')),
		...categories.map((c) => h('option', { value: c.category, selected: c.category === params.get('category') }, c.category))];
	return h('form', { class: 'search-form', role: 'search', onsubmit },
		field('q', t('search.q'), { type: 'search', value: params.get('q') ?? '', maxlength: 200 }),
		field('category', t('search.category'), { tag: 'select', options: categoryOptions }),
		h('div', { class: 'row' },
			field('min_price', t('search.min_price'), { inputmode: 'numeric', value: params.get('min_price') ?? '' }),
			field('max_price', t('search.max_price'), { inputmode: 'numeric', value: params.get('max_price') ?? '' })),
		field('sort', t('search.sort'), { tag: 'select', options: SORTS.map((s) =>
			h('option', { value: s, selected: s === (params.get('sort') ?? 'newest') }, t(`search.sort.${s}`))) }),
		h('p', { class: 'form-error', role: 'alert' }),
		h('button', { type: 'submit' }, t('search.submit')));
}

// Appends one page of results to list; adds a "more" button while there are pages left.
async function loadPage(query, list, more, notes) {
	try {
		const page = await get('/api/v1/products', query);
		list.append(...page.products.map(productCard));
		// A page may come back short, even empty, with more after it (the server bounds each scan).
		notes.replaceChildren(...(list.children.length || page.next_cursor ? [] : [h('p', { class: 'empty' }, t('search.none'))]));
		more.hidden = !page.next_cursor;
		more.onclick = () => loadPage({ ...query, cursor: page.next_cursor }, list, more, notes);
	} catch (err) {
		notes.replaceChildren(errorBox(err));
	}
}

export async function render({ params }) {
	let categories = [];
	try {
		categories = (await get('/api/v1/categories')).categories;
	} catch {
		// The form still works without the category list; the results say what is wrong.
	}
	const query = { limit: 20 };
	for (const name of FILTERS) if (params.get(name)) query[name] = params.get(name);
	const list = h('ul', { class: 'grid products', id: 'search-results' });
	const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('search.more'));
	const notes = h('div', { 'aria-live': 'polite' });
	await loadPage(query, list, more, notes);
	return [
		h('h1', {}, t('search.heading')),
		form(params, categories),
		h('section', { 'aria-labelledby': 'results-heading' },
			h('h2', { id: 'results-heading' }, t('search.results')), list, notes, more),
	];
}
