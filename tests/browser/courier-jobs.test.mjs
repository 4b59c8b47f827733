// Unit tests of web/js/courier-jobs.js (node --test), over an in-memory localStorage.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

const memory = new Map();
globalThis.localStorage = {
	getItem: (k) => (memory.has(k) ? memory.get(k) : null),
	setItem: (k, v) => memory.set(k, String(v)),
	removeItem: (k) => memory.delete(k),
};
const jobs = await import('../../web/js/courier-jobs.js');

beforeEach(() => memory.clear());

test('a courier steps forward to delivered, and nothing follows it', () => {
	const seen = [];
	for (let s = 'allocated'; s; s = jobs.nextStep(s)) seen.push(s);
	assert.deepEqual(seen, ['allocated', 'picking_up', 'picked', 'in_transit', 'delivered']);
	assert.equal(jobs.nextStep('pending'), null, 'an open job is accepted, not stepped');
	assert.equal(jobs.nextStep('on_hold'), null);
	assert.equal(jobs.nextStep('toString'), null, 'no inherited property is a step');
	assert.equal(jobs.jobDone('delivered'), true);
	assert.equal(jobs.jobDone('in_transit'), false);
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

test('taken jobs are remembered per courier, newest first, bounded, and forgotten', () => {
	const id = (n) => n.toString(16).padStart(32, '0');
	jobs.rememberJob(7, id(1));
	jobs.rememberJob(7, id(2));
	jobs.rememberJob(7, id(1));
	jobs.rememberJob(8, id(3));
	assert.deepEqual(jobs.myJobs(7), [id(1), id(2)]);
	assert.deepEqual(jobs.myJobs(8), [id(3)]);
	jobs.forgetJob(7, id(1));
	assert.deepEqual(jobs.myJobs(7), [id(2)]);
	for (let n = 10; n < 10 + jobs.MAX_JOBS + 5; n++) jobs.rememberJob(7, id(n));
	assert.equal(jobs.myJobs(7).length, jobs.MAX_JOBS);
	assert.throws(() => jobs.rememberJob(7, '../x'), RangeError);
	memory.set('bangsoleh.courier.9.jobs', '{not json');
	assert.deepEqual(jobs.myJobs(9), []);
	memory.set('bangsoleh.courier.9.jobs', JSON.stringify([id(4), 'nope', 5]));
	assert.deepEqual(jobs.myJobs(9), [id(4)]);
});
