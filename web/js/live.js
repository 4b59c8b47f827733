// A payment's event stream (GET /api/v1/payments/{id}/events, Server-Sent
// Events). EventSource cannot send the Authorization header the API wants,
// so the stream is read with fetch() and parsed here. A dropped stream is
// opened again (the server sends the current state first), with waits of 1,
// 2, 4 … up to 15 s; an API error (401, 403, 404) ends it.
import { open } from './api.js';

const RETRY_MAX_MS = 15000;
// Tries in a row that could not open the stream before the page says it is
// reconnecting: one or two are a blip (a server restart), three (about 3 s) are not.
export const RECONNECTING_AFTER = 3;
const BLOCK_MAX = 65536; // characters of one event at most; a longer one ends the connection

// Calls onEvent(name, data) for each complete event of a text/event-stream
// body; resolves when the body ends.
export async function readEvents(body, onEvent) {
	const reader = body.pipeThrough(new TextDecoderStream()).getReader();
	let buffer = '';
	let carry = ''; // a chunk's last '\r', which may be the first half of a "\r\n"
	for (;;) {
		const { value, done } = await reader.read();
		if (done) return;
		let text = carry + value;
		carry = text.endsWith('\r') ? '\r' : '';
		if (carry) text = text.slice(0, -1);
		buffer += text.replace(/\r\n?/g, '\n');
		let end;
		while ((end = buffer.indexOf('\n\n')) >= 0) {
			const block = buffer.slice(0, end);
			buffer = buffer.slice(end + 2);
			let name = 'message';
			const data = [];
			for (const line of block.split('\n')) {
				if (line.startsWith(':')) continue; // a comment: the keepalive
				const colon = line.indexOf(':');
				const field = colon < 0 ? line : line.slice(0, colon);
				const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
				if (field === 'event') name = text;
				else if (field === 'data') data.push(text);
			}
			if (data.length) onEvent(name, data.join('\n'));
		}
		if (buffer.length > BLOCK_MAX) throw new Error('an event too long');
	}
}

// Follows a payment: onPayment(payment) for its state now and every change;
// onError(ApiError) when the API refuses the stream; onReconnecting(true)
// once RECONNECTING_AFTER tries in a row failed to open it, (false) when it
// is open again. Returns stop().
export function watchPayment(id, onPayment, onError, onReconnecting) {
	const controller = new AbortController();
	let wait = 1000;
	let failures = 0;
	(async () => {
		while (!controller.signal.aborted) {
			try {
				const response = await open('GET', `/api/v1/payments/${encodeURIComponent(id)}/events`,
					{ accept: 'text/event-stream', signal: controller.signal });
				wait = 1000;
				if (failures >= RECONNECTING_AFTER) onReconnecting?.(false);
				failures = 0;
				await readEvents(response.body, (name, data) => {
					if (name === 'status') onPayment(JSON.parse(data));
				});
			} catch (err) {
				if (controller.signal.aborted) return;
				if (err.status >= 400 && err.status < 500) {
					onError?.(err);
					return;
				}
				if (++failures === RECONNECTING_AFTER) onReconnecting?.(true);
			}
			await new Promise((resolve) => setTimeout(resolve, wait));
			wait = Math.min(RETRY_MAX_MS, wait * 2);
		}
	})();
	return () => controller.abort();
}
