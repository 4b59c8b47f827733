// Unit tests of web/js/chart.js (node --test): the axis scale, the bars'
// geometry and the short axis labels; and of the WIB dates the audit screens
// give the API (web/js/pages/audit-common.js's pure helpers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceScale, layoutBars, shortNumber } from '../../web/js/chart.js';

test('the scale is the smallest 1-2-5 step whose ticks reach the largest value', () => {
	assert.deepEqual(niceScale(0), { step: 1, top: 4 });
	assert.deepEqual(niceScale(4), { step: 1, top: 4 });
	assert.deepEqual(niceScale(5), { step: 2, top: 8 });
	assert.deepEqual(niceScale(9), { step: 5, top: 20 });
	assert.deepEqual(niceScale(20), { step: 5, top: 20 });
	assert.deepEqual(niceScale(21), { step: 10, top: 40 });
	assert.deepEqual(niceScale(350000), { step: 100000, top: 400000 });
	assert.deepEqual(niceScale(400001), { step: 200000, top: 800000 });
	assert.deepEqual(niceScale(7, 2), { step: 5, top: 10 });
	// Every step above is whole, and for any value top ≥ max with step one of 1, 2, 5 × 10^k.
	for (const max of [1, 3, 17, 99, 101, 12345, 9_999_999, 10_000_000_000]) {
		const { step, top } = niceScale(max);
		assert.ok(top >= max && top / 4 === step, `max ${max}`);
		assert.match(String(step), /^[125]0*$/);
		const smaller = String(step).startsWith('5') ? (step * 2) / 5 : step / 2; // the 1-2-5 step below
		assert.ok(step === 1 || smaller * 4 < max, `${step} is the smallest for ${max}`);
	}
	assert.throws(() => niceScale(-1), RangeError);
	assert.throws(() => niceScale(1.5), RangeError);
	assert.throws(() => niceScale(2 ** 53), RangeError);
	assert.throws(() => niceScale(5, 0), RangeError);
});

test('bars share the plot, stand on its bottom and are as tall as their share of the top', () => {
	const pad = { left: 40, right: 10, top: 10, bottom: 30 };
	const l = layoutBars([0, 10, 20, 5], { width: 450, height: 240, pad });
	assert.deepEqual(l.plot, { x: 40, y: 10, width: 400, height: 200 });
	assert.deepEqual(l.scale, { step: 5, top: 20 });
	const bottom = l.plot.y + l.plot.height;
	assert.deepEqual(l.bars.map((b) => b.height), [0, 100, 200, 50]);
	for (const [i, b] of l.bars.entries()) {
		assert.equal(b.y + b.height, bottom, `bar ${i} stands on the axis`);
		assert.equal(b.x, 40 + i * 100 + 10);
		assert.equal(b.width, 80);
	}
	assert.deepEqual(l.ticks.map((t) => [t.value, t.y]), [[0, 210], [5, 160], [10, 110], [15, 60], [20, 10]]);
	assert.deepEqual(layoutBars([], { width: 100, height: 100 }).bars, []);
	assert.throws(() => layoutBars([1, -2], { width: 100, height: 100 }), RangeError);
	assert.throws(() => layoutBars([1.5], { width: 100, height: 100 }), RangeError);
	assert.throws(() => layoutBars([1], { width: 10, height: 100, pad: { left: 10, right: 0, top: 0, bottom: 0 } }), /no room/);
});

test('axis labels are short, with the language\'s units and decimal mark', () => {
	const id = [[1e9, 'M'], [1e6, 'jt'], [1e3, 'rb']];
	assert.equal(shortNumber(0, id), '0');
	assert.equal(shortNumber(999, id), '999');
	assert.equal(shortNumber(20000, id), '20 rb');
	assert.equal(shortNumber(1500000, id, ','), '1,5 jt');
	assert.equal(shortNumber(1500000, [[1e6, 'M']], '.'), '1.5 M');
	assert.equal(shortNumber(2_000_000_000, id), '2 M');
});

test('the audit screens\' dates and times are WIB\'s, whatever the machine\'s zone', async () => {
	const { wibDate, wibParam, hashWith } = await import('../../web/js/pages/audit-common.js');
	const now = Date.parse('2026-11-30T18:00:00Z'); // 1 December, 01.00 WIB
	assert.equal(wibDate({ day: true, now }), '2026-12-01');
	assert.equal(wibDate({ now }), '2026-12-01');
	assert.equal(wibDate({ monthsBack: 1, now }), '2026-11-01');
	assert.equal(wibDate({ monthsBack: -1, now }), '2027-01-01');
	assert.equal(wibDate({ monthsBack: 12, now }), '2025-12-01');
	assert.equal(wibDate({ day: true, now: Date.parse('2026-11-30T16:59:59Z') }), '2026-11-30');
	assert.equal(wibParam('2026-11-28T08:00'), '2026-11-28T08:00:00+07:00');
	assert.equal(wibParam('2026-11-28'), '2026-11-28');
	assert.equal(wibParam(''), '');
	assert.equal(hashWith('#/audit/journal', { store: '2', from: '', reason: null }), '#/audit/journal?store=2');
	assert.equal(hashWith('#/audit/journal', {}), '#/audit/journal');
});
