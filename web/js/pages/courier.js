// The city courier's jobs: the open ones (nearest pickup first when the
// courier shares a position), taken with one button, and the ones this
// courier took and has not finished (from the API, so on any device), with
// their state.
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, ApiError } from '../api.js';
import { formatRupiah } from '../format.js';
import { navigate } from '../router.js';
import { toE6, positionOf, formatDistance } from '../courier-jobs.js';

export function shipmentBadge(state) {
	return h('span', { class: `badge ship-${state}`, 'data-state': state }, t(`shipment.state.${state}`));
}

// Where a job goes, in one line each: from the store, to the buyer's address.
export function route(s) {
	return [h('p', { class: 'job-from' }, t('courier.from', { name: s.pickup.name, address: s.pickup.address || '-' })),
		h('p', { class: 'job-to' }, t('courier.to', { name: s.drop.name, address: s.drop.address || '-', postal_code: s.drop.postal_code }))];
}

function jobCard(s, status) {
	const accept = async (event) => {
		event.target.disabled = true;
		try {
			await post(`/api/v1/shipments/${s.id}/accept`);
			navigate(`#/courier/job/${s.id}`);
		} catch (err) {
			status.replaceChildren(errorBox(err));
			if (err instanceof ApiError && err.code === 'job_taken') event.target.closest('li').remove();
			else event.target.disabled = false;
		}
	};
	return h('li', { class: 'card-row job', 'data-shipment-id': s.id },
		h('p', {}, h('strong', { class: 'price' }, formatRupiah(s.fee)), ' ',
			s.distance_m === null || s.distance_m === undefined ? null : h('span', { class: 'distance' }, t('courier.distance', { distance: formatDistance(s.distance_m, t('courier.decimal')) }))),
		route(s),
		h('button', { type: 'button', class: 'accept', onclick: accept, 'aria-label': t('courier.accept_named', { name: s.pickup.name }) }, t('courier.accept')));
}

const MINE = '/api/v1/courier/shipments'; // the caller's jobs not yet over, newest first

function mineItem(s) {
	return h('li', { class: 'card-row', 'data-shipment-id': s.id },
		h('a', { href: `#/courier/job/${s.id}` }, t('courier.job_to', { name: s.drop.name })), ' ', shipmentBadge(s.state));
}

// The first page of the courier's jobs, and a button for the next ones while the API has more.
function mineList(page, status) {
	if (!page.shipments.length) return h('p', { class: 'empty' }, t('courier.none_mine'));
	const list = h('ul', { class: 'jobs mine', id: 'my-jobs' }, page.shipments.map(mineItem));
	let cursor = page.next_cursor;
	const more = h('button', { type: 'button', class: 'secondary', id: 'my-jobs-more', hidden: !cursor, onclick: async () => {
		more.disabled = true;
		try {
			const next = await get(MINE, { cursor });
			list.append(...next.shipments.map(mineItem));
			cursor = next.next_cursor;
			more.hidden = !cursor;
		} catch (err) {
			status.replaceChildren(errorBox(err));
		}
		more.disabled = false;
	} }, t('search.more'));
	return h('div', {}, list, more);
}

function locate(status) {
	return () => {
		if (!navigator.geolocation) {
			status.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, t('courier.no_location')));
			return;
		}
		navigator.geolocation.getCurrentPosition((p) => {
			const lat = toE6(p.coords.latitude, 90);
			const lng = toE6(p.coords.longitude, 180);
			if (lat === null || lng === null) status.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, t('courier.no_location')));
			else navigate(`#/courier?lat_e6=${lat}&lng_e6=${lng}`);
		}, () => status.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, t('courier.no_location'))), { timeout: 10000 });
	};
}

export async function render({ params }) {
	const here = positionOf(params);
	const [profile, open, taken] = await Promise.all([
		get('/api/v1/courier/profile').catch((err) => { if (err instanceof ApiError && err.status === 404) return null; throw err; }),
		get('/api/v1/courier/jobs', here ?? {}),
		get(MINE)]);
	const status = h('div', { 'aria-live': 'assertive' });
	return [h('h1', {}, t('courier.heading')),
		profile ? null : h('p', { class: 'note setup', id: 'profile-missing' }, t('courier.no_profile'), ' ',
			h('a', { href: '#/courier/profile', class: 'button' }, t('courier.set_up'))),
		h('nav', { class: 'shop-nav', 'aria-label': t('courier.nav') },
			h('a', { class: 'button secondary', href: '#/courier/earnings', id: 'to-earnings' }, t('nav.earnings')),
			h('a', { class: 'button secondary', href: '#/courier/profile', id: 'to-profile' }, t('courier.profile'))),
		h('h2', {}, t('courier.mine')),
		mineList(taken, status),
		h('h2', { id: 'open-heading' }, t('courier.open'), ' ', h('span', { class: 'count', id: 'open-count' }, String(open.jobs.length))),
		h('p', {}, here ? t('courier.sorted') : t('courier.unsorted'), ' ',
			h('button', { type: 'button', class: 'secondary', id: 'locate', onclick: locate(status) }, t('courier.locate'))),
		status,
		open.jobs.length ? h('ul', { class: 'jobs', id: 'open-jobs', 'aria-labelledby': 'open-heading' }, open.jobs.map((s) => jobCard(s, status)))
			: h('p', { class: 'empty', id: 'no-jobs' }, t('courier.none_open'))];
}
