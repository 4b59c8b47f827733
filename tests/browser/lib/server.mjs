// Starts the real `bangsoleh serve` for a browser test: 127.0.0.1, an
// ephemeral port, a temporary data folder with an admin user made first, and
// the web root of the source tree (the default for a binary in its build
// folder). Every wait is bounded; the folder is removed on stop.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 20000;
const EXIT_TIMEOUT_MS = 15000;
export const ADMIN = { username: 'admin', password: 'admin-password-1' };

// Cheap password hashing: sign-ins are many in these tests.
// Every page of a browser test signs in from 127.0.0.1: the per-address login limit (its
// own tests are C tests) is raised so that a test adding a sign-in does not meet it.
const ENV = { ...process.env, BANGSOLEH_AUTH_PASSWORD_COST: '10', BANGSOLEH_LOG_LEVEL: 'warn',
	BANGSOLEH_AUTH_LOGIN_MAX_ADDRESS: '1000' };

function binary() {
	const bin = process.env.BANGSOLEH_BIN;
	if (!bin) throw new Error('BANGSOLEH_BIN is not set (tests/browser/meson.build sets it)');
	return bin;
}

// Runs bin with args and stdin text to its end; rejects on a non-zero exit or a timeout.
function run(args, input) {
	return new Promise((resolve, reject) => {
		const child = spawn(binary(), args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
		let output = '';
		const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
		child.stdout.on('data', (d) => { output += d; });
		child.stderr.on('data', (d) => { output += d; });
		child.on('error', reject);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			if (code === 0) resolve(output);
			else reject(new Error(`bangsoleh ${args.join(' ')}: exit ${code ?? signal}\n${output}`));
		});
		child.stdin.end(input);
	});
}

// Starts bin with args in the background, its stderr to dir/NAME.log, and
// waits (bounded) for its ready line on stdout, which ready (a RegExp) matches
// with the URL as its first group. Resolves to {url, log(), stop()}; stop
// sends SIGTERM (SIGKILL after the bound), runs after(dir) when given, removes
// dir and resolves to the exit code (128 + signal).
export async function startProgram(bin, args, { name, dir, env = {}, ready, after }) {
	const logPath = join(dir, `${name}.log`);
	const logFd = openSync(logPath, 'w');
	const child = spawn(bin, args, { env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', logFd] });
	closeSync(logFd);
	const killOnExit = () => child.kill('SIGKILL');
	process.on('exit', killOnExit);
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))));
	const url = await new Promise((resolve, reject) => {
		let out = '';
		const fail = (why) => reject(new Error(`${name}: ${why}\n${readFileSync(logPath, 'utf8')}`));
		const timer = setTimeout(() => fail('no ready line'), READY_TIMEOUT_MS);
		child.stdout.on('data', (d) => {
			out += d;
			const m = ready.exec(out);
			if (m) {
				clearTimeout(timer);
				resolve(m[1]);
			}
		});
		child.on('exit', () => { clearTimeout(timer); fail('exited before it was ready'); });
	});
	child.stdout.resume();
	return {
		url,
		log: () => readFileSync(logPath, 'utf8'),
		async stop() {
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
			const code = await exited;
			clearTimeout(timer);
			process.off('exit', killOnExit);
			if (code !== 0) process.stderr.write(readFileSync(logPath, 'utf8'));
			try {
				if (after) await after(dir);
			} finally {
				await rm(dir, { recursive: true, force: true });
			}
			return code;
		},
	};
}

// Starts a server; resolves to {url, dir, log(), stop()}. extraArgs go after
// `serve`; listen is its address (an ephemeral port by default), env more
// variables; verifyLedger runs `bangsoleh ledger verify` on its data once it
// stopped (stop then rejects when the books do not verify).
export async function startServer(extraArgs = [], { listen = '127.0.0.1:0', env = {}, verifyLedger = false } = {}) {
	const dir = await mkdtemp(join(tmpdir(), 'bangsoleh-browser-'));
	const data = join(dir, 'data');
	await run(['user', 'add', '--role', 'admin', '--username', ADMIN.username, '--data', data], `${ADMIN.password}\n`);
	const program = await startProgram(binary(), ['serve', '--listen', listen, '--data', data, ...extraArgs], {
		name: 'server', dir, env, ready: /bangsoleh listening on (http:\/\/127\.0\.0\.1:\d+)/,
		after: verifyLedger ? async () => {
			const out = await run(['ledger', 'verify', '--data', data]);
			if (!/\nok\n/.test(`\n${out}`)) throw new Error(`ledger verify: ${out}`);
		} : undefined,
	});
	return { ...program, dir };
}
