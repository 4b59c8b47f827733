// Unit tests of web/js/format.js (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRupiah, parseRupiah, formatWib, wibParts } from '../../web/js/format.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'Mei', 'Jun', 'Jul', 'Agu', 'Sep', 'Okt', 'Nov', 'Des'];

test('rupiah: dots every three digits, no decimals', () => {
	assert.equal(formatRupiah(0), 'Rp0');
	assert.equal(formatRupiah(5), 'Rp5');
	assert.equal(formatRupiah(999), 'Rp999');
	assert.equal(formatRupiah(1000), 'Rp1.000');
	assert.equal(formatRupiah(12500), 'Rp12.500');
	assert.equal(formatRupiah(10000000), 'Rp10.000.000');
	assert.equal(formatRupiah(-1000), '-Rp1.000');
});

test('rupiah: BigInt and digit strings beyond 2^53 keep every digit', () => {
	assert.equal(formatRupiah(9223372036854775807n), 'Rp9.223.372.036.854.775.807');
	assert.equal(formatRupiah('9223372036854775807'), 'Rp9.223.372.036.854.775.807');
	assert.equal(formatRupiah('-000123456'), '-Rp123.456');
	assert.equal(formatRupiah('-0'), 'Rp0');
});

test('rupiah: floats, unsafe numbers and text are refused', () => {
	for (const bad of [12.5, NaN, Infinity, 2 ** 53, '12.500', '1e3', '', ' 1', null, undefined, {}])
		assert.throws(() => formatRupiah(bad), RangeError, String(bad));
});

test('rupiah: typed amounts are parsed to digit strings', () => {
	assert.equal(parseRupiah('12.500'), '12500');
	assert.equal(parseRupiah('Rp 12.500'), '12500');
	assert.equal(parseRupiah(' 007 '), '7');
	assert.equal(parseRupiah('12,5'), null);
	assert.equal(parseRupiah('-5'), null);
	assert.equal(parseRupiah('abc'), null);
	assert.equal(parseRupiah('1234567890123456'), null);
});

test('WIB is UTC+7 whatever the machine zone', () => {
	// 2026-11-28T17:30Z is 00:30 the next day in Jakarta.
	assert.deepEqual(wibParts('2026-11-28T17:30:00Z'), { year: 2026, month: 11, day: 29, hour: 0, minute: 30 });
	assert.equal(formatWib('2026-11-28T03:05:00.123Z', MONTHS), '28 Nov 2026 10.05 WIB');
	assert.equal(formatWib(Date.UTC(2026, 11, 31, 17, 0), MONTHS, ':'), '1 Jan 2027 00:00 WIB');
	assert.equal(formatWib(Date.UTC(2028, 1, 28, 20, 59), MONTHS), '29 Feb 2028 03.59 WIB');
	assert.throws(() => formatWib('not a time', MONTHS), RangeError);
});
