// Stores for the city officer: those waiting for verification (the admin
// list by state), the verified ones, and any store by its number; each can
// be verified (pending), suspended (pending or verified) or reinstated
// (suspended); a verified store can be featured on the home page or stop
// being (suspending one stops it too).
import { h, field, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { formatTime } from '../time.js';
import { navigate } from '../router.js';
import { needRole, hashWith, screen } from './audit-common.js';

const ACTIONS = { pending: ['verify', 'suspend'], verified: ['suspend'], suspended: ['reinstate'] };
// The feature endpoint's bodies, by button.
const FEATURE = { feature: { featured: true }, unfeature: { featured: false } };

const actionsOf = (store) => [...(ACTIONS[store.status] ?? []),
	...(store.status === 'verified' ? [store.featured ? 'unfeature' : 'feature'] : [])];

function storeCard(store) {
	const status = h('div', { 'aria-live': 'assertive' });
	const act = async (action, button) => {
		button.disabled = true;
		try {
			await post(`/api/v1/admin/merchants/${store.id}/${FEATURE[action] ? 'feature' : action}`, FEATURE[action]);
			navigate(hashWith('#/admin/stores', { id: store.id }));
		} catch (err) {
			status.replaceChildren(errorBox(err));
			button.disabled = false;
		}
	};
	return h('li', { class: 'panel admin-store', 'data-store-id': store.id, 'data-status': store.status },
		h('p', {}, h('strong', {}, store.name), ' ', t('admin.store.number', { id: store.id }), ' ',
			h('span', { class: `badge store-${store.status}` }, t(`store.status.${store.status}`)),
			store.featured ? [' ', h('span', { class: 'badge store-featured' }, t('admin.store.featured'))] : null),
		h('p', { class: 'muted small' }, [store.category, store.address, store.city, store.phone].filter(Boolean).join(' · ')),
		store.nmid ? h('p', { class: 'small' }, t('admin.store.details', { criteria: store.criteria, nmid: store.nmid, owner: store.owner_user_id })) : null,
		h('p', { class: 'muted small' }, t('admin.store.since', { time: formatTime(store.status_changed_at ?? store.created_at) })),
		h('div', { class: 'row' }, actionsOf(store).map((action) => h('button', { type: 'button',
			class: `store-${action}${action === 'suspend' ? ' danger' : ''}`, onclick: (e) => act(action, e.target) }, t(`admin.store.${action}`)))),
		status);
}

export async function render({ params }) {
	const denied = needRole(['admin']);
	if (denied) return denied;
	const id = params.get('id') ?? '';
	const found = id ? await get(`/api/v1/merchants/${encodeURIComponent(id)}`).then(storeCard, (err) => h('li', {}, errorBox(err))) : null;
	const pending = await get('/api/v1/admin/merchants', { status: 'pending', limit: 100 });
	const listed = await get('/api/v1/merchants', { limit: 100, cursor: params.get('cursor') });
	return screen(
		h('h1', {}, t('admin.stores.heading')),
		h('p', {}, h('a', { href: '#/admin' }, t('admin.back'))),
		h('form', { class: 'store-lookup', onsubmit: (e) => {
			e.preventDefault();
			navigate(hashWith('#/admin/stores', { id: e.target.elements.id.value.trim() }));
		} }, field('store-id', t('admin.stores.lookup'), { name: 'id', type: 'number', min: 1, inputmode: 'numeric', value: id, required: true },
			t('admin.stores.lookup_hint')), h('button', { type: 'submit' }, t('admin.stores.open'))),
		found ? h('ul', { class: 'admin-stores', id: 'store-found' }, found) : null,
		h('h2', {}, t('admin.stores.pending')),
		pending.items.length ? h('ul', { class: 'admin-stores', id: 'stores-pending' }, pending.items.map(storeCard))
			: h('p', { class: 'empty' }, t('admin.stores.none_pending')),
		h('h2', {}, t('admin.stores.verified')),
		listed.items.length ? h('ul', { class: 'admin-stores', id: 'stores-verified' }, listed.items.map(storeCard))
			: h('p', { class: 'empty' }, t('admin.stores.none')),
		listed.next_cursor ? h('p', {}, h('a', { class: 'button', href: hashWith('#/admin/stores', { cursor: listed.next_cursor }) }, t('audit.next'))) : null,
	);
}
