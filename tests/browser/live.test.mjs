// Unit tests of the event-stream parser of web/js/live.js (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEvents } from '../../web/js/live.js';

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
