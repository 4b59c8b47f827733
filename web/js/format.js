// Formatting of amounts and times for people in Indonesia.
// Amounts are whole rupiah: integers, BigInt or strings of digits, never floats.
// Times are shown in WIB (UTC+7, no daylight saving), by integer arithmetic so
// the result does not depend on the browser's time zone or ICU data.

const WIB_OFFSET_MS = 7 * 60 * 60 * 1000;

// The digits of a whole amount as a string with an optional leading '-', or null.
function amountDigits(value) {
	if (typeof value === 'bigint') return value.toString();
	if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : null;
	if (typeof value === 'string' && /^-?\d{1,30}$/.test(value)) return value;
	return null;
}

// "Rp12.500" for 12500; "-Rp1.000" for -1000. Throws RangeError on anything
// that is not a whole amount (a float, NaN, text).
export function formatRupiah(value) {
	const text = amountDigits(value);
	if (text === null) throw new RangeError(`not a whole rupiah amount: ${String(value)}`);
	const negative = text.startsWith('-');
	const digits = (negative ? text.slice(1) : text).replace(/^0+(?=\d)/, '');
	let grouped = '';
	for (let end = digits.length; end > 0; end -= 3) {
		const part = digits.slice(Math.max(0, end - 3), end);
		grouped = grouped ? `${part}.${grouped}` : part;
	}
	return `${negative && digits !== '0' ? '-' : ''}Rp${grouped}`;
}

// Parses what a person types as an amount: digits, with dots or spaces as
// thousands separators and an optional "Rp". Returns a string of digits or null.
export function parseRupiah(text) {
	const cleaned = String(text).trim().replace(/^rp\s*/i, '').replace(/[.\s]/g, '');
	return /^\d{1,15}$/.test(cleaned) ? cleaned.replace(/^0+(?=\d)/, '') : null;
}

function pad2(n) {
	return n < 10 ? `0${n}` : String(n);
}

// Milliseconds since the epoch from a number or an RFC 3339 string; NaN when neither.
function toMillis(value) {
	if (typeof value === 'number') return value;
	if (typeof value === 'string') return Date.parse(value);
	return NaN;
}

// The WIB calendar fields of an instant.
export function wibParts(value) {
	const ms = toMillis(value);
	if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(value)}`);
	const d = new Date(ms + WIB_OFFSET_MS);
	return {
		year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
		hour: d.getUTCHours(), minute: d.getUTCMinutes(),
	};
}

// "28 Nov 2026 10.05 WIB" (Indonesian writes the time with a dot) or
// "28 Nov 2026 10:05 WIB"; monthNames are the language's twelve short names.
export function formatWib(value, monthNames, timeSeparator = '.') {
	const p = wibParts(value);
	return `${p.day} ${monthNames[p.month - 1]} ${p.year} ${pad2(p.hour)}${timeSeparator}${pad2(p.minute)} WIB`;
}
