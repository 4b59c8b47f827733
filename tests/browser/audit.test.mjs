// The auditor's screens in a real browser against the real server and the
// sandbox provider, after some activity seeded through the API (two stores,
// an in-store charge and an order, both paid through the sandbox): the
// journal with its payments and a store filter, the trial balance (balanced)
// with its CSV, an account statement, the report's charts and CSV, the
// findings, the checkpoints verified in the browser (signature and
// consistency), and the export downloaded as a tar. The tests build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, settled, finish, errorAlert, PHONE, DESKTOP } from './lib/browser.mjs';
import { paidCharge, paidOrder, rerender, checkScreens, signedInPage } from './audit-activity.mjs';

let server;
let sandbox;
let browser;
let warung;
let kopi;
let orderId;  // Kopi Pak Udin's order, completed
const auditor = { username: 'rina', password: 'rina-password-1' };

before(async () => {
	// No checkpoint by itself within the test: the test makes them.
	({ server, sandbox } = await startWithSandbox(['--set', 'audit.checkpoint_interval=86400']));
	const base = server.url;
	warung = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti', products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk' }] });
	kopi = await seedStore(base, { owner: 'udin', name: 'Kopi Pak Udin', category: 'minuman',
		products: [{ title: 'Kopi Kawa Daun', price: 8000, category: 'minuman' }] });
	const admin = await login(base, ADMIN.username, ADMIN.password);
	await expect(base, 201, 'POST', '/api/v1/users', { token: admin, body: { ...auditor, role: 'auditor' } });
	await registerUser(base, 'budi', 'budi-password-1');
	await paidCharge(base, sandbox, await login(base, 'siti', 'siti-password'), warung.store.id, 150000);
	const budi = await login(base, 'budi', 'budi-password-1');
	const group = await paidOrder(base, sandbox, budi, [{ product_id: kopi.products[0].id, quantity: 2 }], 'audit-order-1');
	// The store delivers it by its own means and the buyer confirms: completed
	// with no shipment, which the findings name.
	orderId = group.order_ids[0];
	const udin = await login(base, 'udin', 'udin-password');
	await expect(base, 200, 'POST', `/api/v1/orders/${orderId}/confirm`, { token: udin });
	await expect(base, 200, 'POST', `/api/v1/orders/${orderId}/ship`, { token: udin });
	await expect(base, 200, 'POST', `/api/v1/orders/${orderId}/deliver`, { token: admin });
	await expect(base, 200, 'POST', `/api/v1/orders/${orderId}/receive`, { token: budi });
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

// The id of a ledger account named name.
async function accountId(name) {
	const token = await login(server.url, auditor.username, auditor.password);
	return (await expect(server.url, 200, 'GET', `/api/v1/ledger/accounts/${name}`, { token })).id;
}

// Clicks selector and resolves to the bytes of the download it starts.
async function download(page, selector) {
	const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
	return { name: file.suggestedFilename(), bytes: await readFile(await file.path()) };
}

const auditorPage = (hash, name, viewport = PHONE) => signedInPage(browser, server, auditor, hash, name, viewport);

test('the journal shows the payments with their attribution and filters them by store', async () => {
	const page = await auditorPage('#/', 'home');
	await page.click('#nav-audit');
	await settled(page, 'audit-journal');
	const entries = await page.$$eval('#journal .entry', (els) => els.map((e) => ({ reason: e.dataset.reason,
		text: e.querySelector('.attribution').textContent })));
	const payments = entries.filter((e) => e.reason === 'payment');
	assert.ok(payments.some((e) => /di toko/.test(e.text) && e.text.includes(`toko ${warung.store.id}`)), JSON.stringify(entries));
	assert.ok(payments.some((e) => /daring/.test(e.text) && e.text.includes(`toko ${kopi.store.id}`) && /penyedia sandbox/.test(e.text)));
	assert.ok(await page.isVisible('#journal-end'));
	// Accounts are named (the journal entries name them), and lead to their statements.
	assert.deepEqual(await page.$$eval('#journal .entry[data-seq="1"] a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')])),
		[['gateway:sandbox:clearing', `#/audit/account/${await accountId('gateway:sandbox:clearing')}`],
			[`merchant:${warung.store.id}:payable`, `#/audit/account/${warung.store.payable_account}`]]);

	await page.click('.filter-box summary');
	await page.fill('#f-store', String(kopi.store.id));
	await rerender(page, 'audit-journal', () => page.click('form.journal-filters button[type="submit"]'));
	assert.match(page.url(), new RegExp(`store=${kopi.store.id}`));
	const filtered = await page.$$eval('#journal .entry .attribution', (els) => els.map((e) => e.textContent));
	assert.ok(filtered.length >= 1 && filtered.length < entries.length, `${filtered.length} of ${entries.length}`);
	for (const text of filtered) assert.ok(text.includes(`toko ${kopi.store.id}`) && !/di toko/.test(text), text);

	await page.selectOption('#f-reason', 'refund');
	await rerender(page, 'audit-journal', () => page.click('form.journal-filters button[type="submit"]'));
	assert.equal(await page.$$eval('#journal .entry', (els) => els.length), 0);
	assert.ok(await page.isVisible('main .empty'));
	await finish(page, PHONE, 'audit-journal-filtered-phone');
});

test('the trial balance is balanced, downloads as CSV, and leads to an account\'s statement', async () => {
	const page = await auditorPage('#/audit/balance', 'audit-balance');
	assert.equal(await page.getAttribute('#balanced', 'data-balanced'), 'true');
	assert.equal((await page.textContent('#balanced')).trim(), 'Seimbang: debit sama dengan kredit');
	assert.ok(await page.$$eval('table.ledgers [data-balanced="true"]', (els) => els.length) >= 1);
	const csv = await download(page, '#balance-csv');
	assert.match(csv.name, /^trial-balance-\d+\.csv$/);
	const lines = csv.bytes.toString('utf8').split('\r\n');
	assert.equal(lines[0], 'as_of_seq,kind,ledger,account_id,name,code,debits_pending,debits_posted,credits_pending,credits_posted,balanced');
	assert.ok(lines.some((l) => /,total,.*,true$/.test(l)));

	await rerender(page, 'audit-account', () => page.click('table.accounts a:text-is("escrow")'));
	const rows = await page.$$eval('table.statement-balances tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
	assert.deepEqual(rows, ['Saldo awal', 'Saldo akhir']);
	assert.ok(await page.$$eval('table.statement tbody tr', (trs) => trs.length) >= 1, 'the order\'s payment moved escrow');
	await finish(page, PHONE, 'audit-account-phone');
});

test('the reports draw the payments as bars, with the table and the CSV', async () => {
	const page = await auditorPage('#/audit/reports', 'audit-reports');
	const bars = await page.$$eval('#chart-count svg rect.bar', (els) => els.map((e) => Number(e.dataset.value)));
	assert.ok(bars.length >= 1);
	assert.equal(bars.reduce((a, b) => a + b, 0), 2, 'the charge and the order\'s payment');
	const values = await page.$$eval('#chart-value svg rect.bar', (els) => els.map((e) => Number(e.dataset.value)));
	assert.equal(values.reduce((a, b) => a + b, 0), 150000 + 16000);
	assert.ok(await page.$eval('#chart-value svg rect.bar[data-value="166000"]', (e) => e.getBBox().height > 0), 'the day\'s bar is drawn');
	assert.ok(await page.isVisible('table.report-table'));
	const csv = await download(page, '#report-csv');
	assert.match(csv.bytes.toString('utf8'), /^period,scope,store_id,store_name,category,payments,/);

	await rerender(page, 'audit-reports', async () => {
		await page.selectOption('#f-period', 'month');
		await page.click('form.report-filters button[type="submit"]');
	});
	assert.match(page.url(), /period=month/);
	assert.ok(await page.$$eval('#chart-count svg rect.bar', (els) => els.length) >= 1);
	await finish(page, PHONE, 'audit-reports-month-phone');
});

test('the findings are grouped by kind with their counts and figures', async () => {
	const page = await auditorPage('#/audit/findings', 'audit-findings');
	const kinds = await page.$$eval('.finding-kind', (els) => els.map((e) => [e.dataset.kind, e.dataset.count]));
	assert.deepEqual(kinds.map(([k]) => k), ['amount_mismatch', 'late_payment_refunded', 'refund_ratio', 'completed_without_delivery', 'payouts_over_sales']);
	assert.deepEqual(kinds.filter(([, n]) => n !== '0'), [['completed_without_delivery', '1']]);
	const figures = await page.$$eval('.finding-kind[data-kind="completed_without_delivery"] .finding dl',
		(dls) => dls.map((dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))));
	assert.deepEqual(figures, [{ Pesanan: String(orderId), Toko: String(kopi.store.id), 'Keadaan pesanan': 'Selesai', Kiriman: '—', 'Keadaan kiriman': '—' }]);
	assert.equal(await page.$$eval('.finding-kind[data-kind="refund_ratio"] .finding', (els) => els.length), 0);
	await finish(page, PHONE, 'audit-findings-phone');
});

test('the checkpoints verify in the browser: signature, and consistency between two', async () => {
	const base = server.url;
	const admin = await login(base, ADMIN.username, ADMIN.password);
	const first = await expect(base, 201, 'POST', '/api/v1/audit/checkpoints', { token: admin });
	const page = await auditorPage('#/audit/checkpoints', 'audit-checkpoints');
	assert.equal(await page.getAttribute('#latest-checkpoint', 'data-verdict'), 'verified', await page.textContent('main'));
	assert.ok(await page.isVisible('#consistency-none'), 'one checkpoint: no pair yet');

	// More activity, then a second checkpoint: the newer tree must extend the older.
	await paidCharge(base, sandbox, await login(base, 'udin', 'udin-password'), kopi.store.id, 12500);
	const second = await expect(base, 201, 'POST', '/api/v1/audit/checkpoints', { token: admin });
	assert.ok(second.tree_size > first.tree_size);
	await rerender(page, 'audit-checkpoints', () => page.reload());
	assert.equal(await page.getAttribute('#latest-checkpoint', 'data-verdict'), 'verified');
	assert.equal(await page.getAttribute('#consistency', 'data-verdict'), 'verified');
	assert.deepEqual(await page.$$eval('.consistency-list li', (els) => els.map((e) => e.dataset.consistent)), ['true']);
	assert.deepEqual(await page.$$eval('.checkpoints .checkpoint', (els) => els.map((e) => [e.dataset.number, e.dataset.verdict])),
		[[String(second.number), 'verified'], [String(first.number), 'verified']]);
	assert.equal(await page.textContent('#public-key'), second.public_key);
	await finish(page, PHONE, 'audit-checkpoints-two-phone');
});

test('the export downloads as a non-empty POSIX tar', async () => {
	const page = await auditorPage('#/audit/export', 'audit-export');
	const tar = await download(page, '#export-download');
	assert.match(tar.name, /^bangsoleh-export-\d+-\d+\.tar$/);
	assert.ok(tar.bytes.length >= 1024 && tar.bytes.length % 512 === 0, `${tar.bytes.length} bytes`);
	assert.equal(tar.bytes.subarray(257, 262).toString('latin1'), 'ustar');
	assert.match(tar.bytes.subarray(0, 100).toString('latin1'), /^bangsoleh-export-\d+-\d+\//);
	assert.match(await page.textContent('.download-status'), /Terunduh: bangsoleh-export-/);
	await finish(page, PHONE, 'audit-export-done-phone');
});

test('the audit screens degrade to a clear message: a bad filter, another role', async () => {
	const page = await auditorPage('#/audit/journal?store=abc', 'audit-journal');
	assert.equal(await (await errorAlert(page)).getAttribute('data-code'), 'invalid_field');
	await page.goto('/#/audit/reports?from=2026-11-10&to=2026-11-01');
	await settled(page, 'audit-reports');
	const alert = await errorAlert(page);
	assert.equal(await alert.getAttribute('data-code'), 'invalid_range');
	assert.match(await alert.textContent(), /akhir harus sesudah awal/);
	page.problems.length = 0; // the browser logs each 400 the page was shown
	await page.context().close();

	const shopper = await signedInPage(browser, server, { username: 'budi', password: 'budi-password-1' }, '#/audit/checkpoints', 'audit-checkpoints');
	assert.equal((await shopper.textContent('main h1')).trim(), 'Khusus auditor dan petugas kota');
	assert.equal(await shopper.$('#nav-audit'), null, 'no audit link for a shopper');
	await finish(shopper, PHONE, 'audit-other-role-phone');
});

// Each auditor screen at phone and desktop width, with its key elements.
for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
	test(`the auditor's screens at ${label} width`, async () => {
		const screens = [
			['#/audit/journal', 'audit-journal', ['#journal .entry .attribution', '.subnav', '.filter-box summary']],
			['#/audit/balance', 'audit-balance', ['#balanced[data-balanced="true"]', 'table.ledgers', 'table.accounts', '#balance-csv']],
			['#/audit/account/escrow', 'audit-account', ['table.statement-balances', 'table.statement']],
			['#/audit/reports', 'audit-reports', ['#chart-count svg rect.bar:not([data-value="0"])', '#chart-value svg', 'table.report-table', '#report-csv']],
			['#/audit/findings', 'audit-findings', ['.finding-kind[data-kind="refund_ratio"] h2']],
			['#/audit/checkpoints', 'audit-checkpoints', ['#latest-checkpoint[data-verdict="verified"]', '#consistency[data-verdict="verified"]', '#public-key']],
			['#/audit/export', 'audit-export', ['#export-from', '#export-to', '#export-download']],
		];
		const page = await auditorPage('#/', 'home', viewport);
		await checkScreens(page, screens, viewport, label);
		await finish(page, viewport, `audit-screens-${label}`);
	});
}
