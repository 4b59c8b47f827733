// The city courier's work, without the DOM: the next step of a shipment,
// positions and distances, and the jobs this courier took on this device.
import { webStorage } from './storage.js';

// The step a courier takes next from a shipment's state (docs/api.md,
// "POST /api/v1/shipments/{id}/status"), or null when there is none for them.
// `in_transit` → `delivered` needs the buyer's PIN.
const NEXT = new Map([['allocated', 'picking_up'], ['picking_up', 'picked'], ['picked', 'in_transit'], ['in_transit', 'delivered']]);
export const nextStep = (state) => NEXT.get(state) ?? null;

// States after which the job is over for the courier.
const DONE = new Set(['delivered', 'returned', 'cancelled', 'failed']);
export const jobDone = (state) => DONE.has(state);

// Degrees (a number from the browser's geolocation) to the API's millionths
// of a degree; null when not a coordinate within limit (90 or 180).
export function toE6(degrees, limit) {
	if (typeof degrees !== 'number' || !Number.isFinite(degrees) || Math.abs(degrees) > limit) return null;
	return Math.round(degrees * 1e6);
}

// Reads lat_e6/lng_e6 of the hash's parameters: {lat_e6, lng_e6} when both
// are whole millionths in range, else null.
export function positionOf(params) {
	const read = (name, limit) => {
		const text = params.get(name);
		if (!text || !/^-?\d{1,9}$/.test(text)) return null;
		const n = Number(text);
		return Math.abs(n) <= limit * 1e6 ? n : null;
	};
	const lat = read('lat_e6', 90);
	const lng = read('lng_e6', 180);
	return lat === null || lng === null ? null : { lat_e6: lat, lng_e6: lng };
}

// "850 m" below a kilometre, else kilometres with one decimal in the
// language's separator ("1,2 km"), by integer arithmetic.
export function formatDistance(metres, decimal = ',') {
	if (!Number.isSafeInteger(metres) || metres < 0) return '';
	if (metres < 1000) return `${metres} m`;
	const tenths = Math.round(metres / 100);
	return `${Math.floor(tenths / 10)}${decimal}${tenths % 10} km`;
}

// The jobs this courier accepted, remembered on the device: the API lists
// open jobs only (docs/web.md, "Courier"). Ids of at most MAX_JOBS shipments
// per user, newest first, in localStorage (they are not secret, and a job
// lasts longer than a tab).
export const MAX_JOBS = 50;
const key = (userId) => `bangsoleh.courier.${userId}.jobs`;
const SHIPMENT_ID = /^[0-9a-f]{32}$/;

export function myJobs(userId) {
	try {
		const saved = JSON.parse(webStorage('localStorage')?.getItem(key(userId)) ?? '[]');
		return Array.isArray(saved) ? saved.filter((id) => typeof id === 'string' && SHIPMENT_ID.test(id)).slice(0, MAX_JOBS) : [];
	} catch {
		return [];
	}
}

function saveJobs(userId, ids) {
	const storage = webStorage('localStorage');
	if (ids.length) storage?.setItem(key(userId), JSON.stringify(ids));
	else storage?.removeItem(key(userId));
}

export function rememberJob(userId, id) {
	if (!SHIPMENT_ID.test(id)) throw new RangeError(`not a shipment id: ${id}`);
	saveJobs(userId, [id, ...myJobs(userId).filter((j) => j !== id)].slice(0, MAX_JOBS));
}

export function forgetJob(userId, id) {
	saveJobs(userId, myJobs(userId).filter((j) => j !== id));
}
