// The sandbox payment and courier provider (`bangsoleh-sandbox`,
// docs/sandbox.md) beside a server, as tests/support/sandboxtest.c pairs
// them: the sandbox's notifications go to the server's webhooks, the server
// asks the sandbox for QR codes and courier rates. Both on loopback.
import { createServer } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProgram, startServer } from './server.mjs';

const COURIER_TOKEN = 'sandbox-courier-token'; // the server's default courier.webhook_token

// A loopback port that was free a moment ago: the sandbox must know the
// server's port before the server starts. Picked at random below Linux's
// ephemeral range (32768-60999 by default), where neither outgoing
// connections nor other tests' port-0 listeners land meanwhile (as
// tests/support/sandboxtest.c does).
const PORT_LOW = 20000;
const PORT_HIGH = 32767;

function portFree(port) {
	return new Promise((resolve) => {
		const probe = createServer();
		probe.once('error', () => resolve(false));
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
}

async function freePort() {
	for (let tries = 0; tries < 64; tries++) {
		const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW + 1));
		if (await portFree(port)) return port;
	}
	throw new Error('no free loopback port in 64 tries');
}

// Starts the sandbox (sandboxArgs more arguments), then a server using it
// (serverArgs after `serve`; the server's books are verified when it stops).
// Resolves to {server, sandbox}; sandbox has url, pay(id) (its test control:
// pays a pending charge named by our payment id, like its page's Pay button),
// shipments(), shipmentsAtLeast(n) (waits until the server's calls made n: they
// go out a moment after the step that asks for them), moveShipment(id, status)
// and stop().
export async function startWithSandbox(serverArgs = [], { sandboxArgs = [] } = {}) {
	const bin = process.env.BANGSOLEH_SANDBOX_BIN;
	if (!bin) throw new Error('BANGSOLEH_SANDBOX_BIN is not set (tests/browser/meson.build sets it)');
	const port = await freePort();
	const server = `http://127.0.0.1:${port}`;
	const dir = await mkdtemp(join(tmpdir(), 'bangsoleh-sandbox-'));
	const program = await startProgram(bin, ['--listen', '127.0.0.1:0',
		'--notify-midtrans', `${server}/api/v1/webhooks/payments/sandbox`,
		'--notify-biteship', `${server}/api/v1/webhooks/couriers/sandbox?token=${COURIER_TOKEN}`, ...sandboxArgs], {
		name: 'sandbox', dir, ready: /bangsoleh-sandbox listening on (http:\/\/127\.0\.0\.1:\d+)/,
	});
	const control = async (method, path, request = {}) => {
		const res = await fetch(program.url + path, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'POST' ? JSON.stringify(request) : undefined });
		const body = await res.json();
		if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
		return body;
	};
	const sandbox = {
		...program,
		pay: (id) => control('POST', `/simulate/pay/${encodeURIComponent(id)}`),
		charges: async () => (await control('GET', '/simulate/charges')).charges,
		shipments: async () => (await control('GET', '/simulate/shipments')).shipments,
		shipmentsAtLeast: async (n) => {
			for (;;) {
				const { shipments } = await control('GET', '/simulate/shipments');
				if (shipments.length >= n) return shipments;
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		},
		moveShipment: (id, status) => control('POST', `/simulate/shipment/${encodeURIComponent(id)}`, { status }),
	};
	try {
		return {
			sandbox,
			server: await startServer(['--set', `courier.base_url=${program.url}`, ...serverArgs], {
				listen: `127.0.0.1:${port}`, env: { BANGSOLEH_PAYMENT_BASE_URL: program.url }, verifyLedger: true,
			}),
		};
	} catch (err) {
		await program.stop();
		throw err;
	}
}
