// The city courier's work, without the DOM: the next step of a shipment,
// positions and distances, and phone numbers as links.

// The step a courier takes next from a shipment's state (docs/api.md,
// "POST /api/v1/shipments/{id}/status"), or null when there is none for them.
// `in_transit` → `delivered` needs the buyer's PIN.
const NEXT = new Map([['allocated', 'picking_up'], ['picking_up', 'picked'], ['picked', 'in_transit'], ['in_transit', 'delivered']]);
export const nextStep = (state) => NEXT.get(state) ?? null;

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

// A phone number as a `tel:` link: its digits, after a leading `+` if it has
// one; null when there is no digit to call (an empty or odd number).
export function telHref(phone) {
	if (typeof phone !== 'string') return null;
	const digits = phone.replace(/\D/g, '');
	if (!digits) return null;
	return `tel:${phone.trim().startsWith('+') ? '+' : ''}${digits}`;
}
