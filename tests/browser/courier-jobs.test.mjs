// Unit tests of web/js/courier-jobs.js (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jobs from '../../web/js/courier-jobs.js';

test('a courier steps forward to delivered, and nothing follows it', () => {
	const seen = [];
	for (let s = 'allocated'; s; s = jobs.nextStep(s)) seen.push(s);
	assert.deepEqual(seen, ['allocated', 'picking_up', 'picked', 'in_transit', 'delivered']);
	assert.equal(jobs.nextStep('pending'), null, 'an open job is accepted, not stepped');
	assert.equal(jobs.nextStep('on_hold'), null);
	assert.equal(jobs.nextStep('toString'), null, 'no inherited property is a step');
});

test('degrees become whole millionths; anything else is refused', () => {
	assert.equal(jobs.toE6(-0.223, 90), -223000);
	assert.equal(jobs.toE6(100.633, 180), 100633000);
	assert.equal(jobs.toE6(90.0000001, 90), null);
	assert.equal(jobs.toE6(Number.NaN, 90), null);
	assert.equal(jobs.toE6('1', 90), null);
});

test('a position is read from the hash only when both coordinates are whole and in range', () => {
	const p = (q) => jobs.positionOf(new URLSearchParams(q));
	assert.deepEqual(p('lat_e6=-223000&lng_e6=100633000'), { lat_e6: -223000, lng_e6: 100633000 });
	assert.equal(p('lat_e6=-223000'), null);
	assert.equal(p('lat_e6=90000001&lng_e6=0'), null);
	assert.equal(p('lat_e6=1.5&lng_e6=0'), null);
	assert.equal(p('lat_e6=&lng_e6=0'), null);
});

test('distances read as metres, then kilometres with one decimal', () => {
	assert.equal(jobs.formatDistance(0), '0 m');
	assert.equal(jobs.formatDistance(999), '999 m');
	assert.equal(jobs.formatDistance(1000), '1,0 km');
	assert.equal(jobs.formatDistance(1249), '1,2 km');
	assert.equal(jobs.formatDistance(12960, '.'), '13.0 km');
	assert.equal(jobs.formatDistance(-1), '');
	assert.equal(jobs.formatDistance(1.5), '');
});

test('a phone number becomes a tel: link of its digits, or nothing', () => {
	assert.equal(jobs.telHref('+6281234567890'), 'tel:+6281234567890');
	assert.equal(jobs.telHref('0812-3456 7890'), 'tel:081234567890');
	assert.equal(jobs.telHref(' +62 (812) 345'), 'tel:+62812345');
	assert.equal(jobs.telHref('javascript:alert(1)'), 'tel:1', 'only digits reach the link');
	assert.equal(jobs.telHref(''), null);
	assert.equal(jobs.telHref('-'), null);
	assert.equal(jobs.telHref(undefined), null);
});
