// Unit tests of web/js/live.js (node --test): the event-stream parser, and
// the reconnecting signal of watchPayment (fetch stubbed, timers mocked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents, watchPayment, RECONNECTING_AFTER } from '../../web/js/live.js';

// A body that delivers the given chunks of bytes one by one.
function body(chunks) {
	const encoder = new TextEncoder();
	return new ReadableStream({
		start(controller) {
			for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
			controller.close();
		},
	});
}

test('events are parsed across chunk boundaries, keepalives and CRLF line ends', async () => {
	const seen = [];
	const rupiah = new TextEncoder().encode('event: status\ndata: {"note":"Lunas ✓"}\n\n');
	const split = rupiah.indexOf(0xe2) + 1; // inside the three bytes of ✓
	await readEvents(body([
		'event: sta', 'tus\ndata: {"status":"pending"}\n', '\n',
		': keepalive\n\n',
		'event: status\r\ndata: {"status":"paid"}\r', '\n\r', '\n',
		rupiah.subarray(0, split), rupiah.subarray(split),
		'data: a\r', '\ndata: b\n\n', // one event of two data lines, not two events
		'event: status\ndata: {"unfinished":',
	]), (name, data) => seen.push([name, data]));
	assert.deepEqual(seen, [
		['status', '{"status":"pending"}'],
		['status', '{"status":"paid"}'],
		['status', '{"note":"Lunas ✓"}'],
		['message', 'a\nb'],
	]);
});

test('an event longer than the bound ends the stream with an error', async () => {
	await assert.rejects(readEvents(body([`data: ${'x'.repeat(70000)}`]), () => {}), /too long/);
});

test('tries that fail in a row say the stream is reconnecting once, and an open stream that it is back', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const statuses = [503, 502, 503, 200]; // then 200 again
	let calls = 0;
	t.mock.method(globalThis, 'fetch', async () => {
		const status = statuses[Math.min(calls++, statuses.length - 1)];
		return status === 200
			? new Response('event: status\ndata: {"status":"pending"}\n\n', { status, headers: { 'Content-Type': 'text/event-stream' } })
			: new Response('{"error":{"code":"unavailable","message":"down"}}', { status, headers: { 'Content-Type': 'application/json' } });
	});
	const seen = [];
	const stop = watchPayment('p1', (p) => seen.push(p.status), (err) => seen.push(`error ${err.code}`),
		(down) => seen.push(down ? 'reconnecting' : 'back'));
	// Lets the loop run up to its next wait (real macrotask turns: only setTimeout is mocked).
	const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve)); };
	const afterTries = [];
	for (const wait of [1000, 2000, 4000]) {
		await settle();
		afterTries.push([calls, [...seen]]);
		t.mock.timers.tick(wait);
	}
	await settle();
	// The open stream ends (the server restarts, say) and the next try opens it: nothing to say.
	t.mock.timers.tick(1000);
	await settle();
	stop();
	assert.equal(RECONNECTING_AFTER, 3);
	assert.deepEqual(afterTries, [[1, []], [2, []], [3, ['reconnecting']]]);
	assert.equal(calls, 5);
	assert.deepEqual(seen, ['reconnecting', 'back', 'pending', 'pending']);
});
