// A store's money and its print views in a real browser: the balance after
// an in-store charge, a payout that fails (the sandbox refuses accounts that
// start with 000) and gives the money back, one that completes, the statement
// with its opening and closing figures, over a period picked in the page; the packing slip of an order and the
// static QRIS poster, each printed on its paper (A5, or A4 for the poster
// when chosen) by css/print.css. The tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { paidOrder, waitFor } from './lib/orders.mjs';
import { launch, openPage, settled, signIn, finish, errorAlert, PHONE, DESKTOP } from './lib/browser.mjs';
import { rerender } from './audit-activity.mjs';

let server;
let sandbox;
let browser;
const siti = { username: 'siti', password: 'siti-password' }; // lib/seed.mjs's owner password
const state = {};

before(async () => {
	({ server, sandbox } = await startWithSandbox());
	const base = server.url;
	const { store, products } = await seedStore(base, { owner: siti.username, name: 'Warung Bu Siti',
		details: { address: 'Jl. Sudirman 12', phone: '081234567890', bank_code: 'BNI', bank_account: '0001234567', bank_name: 'Siti Aminah' },
		products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk', weight_g: 500 }, { title: 'Keripik Balado', price: 15000, category: 'camilan', weight_g: 200 }] });
	state.store = store;
	await registerUser(base, 'budi', 'budi-password-1');
	const buyer = await login(base, 'budi', 'budi-password-1');
	state.order = await paidOrder(base, sandbox, { token: buyer, storeId: store.id, key: 'money-order',
		items: [{ product_id: products[0].id, quantity: 2 }, { product_id: products[1].id, quantity: 3 }] });
	// An in-store charge puts money on the store's account at once (UMI: no MDR up to Rp500.000).
	state.owner = await login(base, siti.username, siti.password);
	const res = await fetch(`${base}/api/v1/merchants/${store.id}/charges`, { method: 'POST', headers: { Authorization: `Bearer ${state.owner}`,
		'Content-Type': 'application/json', 'Idempotency-Key': 'money-charge' }, body: JSON.stringify({ amount: 250000 }) });
	assert.equal(res.status, 201);
	const payment = await res.json();
	await sandbox.pay(payment.id);
	await waitFor(base, state.owner, `/api/v1/payments/${payment.id}`, (p) => p.status === 'paid');
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

const money = () => `#/merchant/${state.store.id}/money`;

// Asks for a payout of text in the page; waits for the list to show it, then
// (through the API) for its outcome, and shows the page again.
async function payout(page, text, outcome) {
	const before = await page.locator('#payouts > li').count();
	await page.fill('#payout-amount', text);
	await page.click('#payout-form button[type="submit"]');
	await page.waitForFunction((n) => document.querySelectorAll('#payouts > li').length > n, before);
	await settled(page, 'balance');
	await waitFor(server.url, state.owner, `/api/v1/merchants/${state.store.id}/payouts`, (b) => b.payouts[0]?.status === outcome);
	await page.reload();
	await settled(page, 'balance');
}

const statementRows = (page) => page.$$eval('#statement tr[data-seq]', (els) => els.map((e) => `${e.dataset.reason}/${e.dataset.kind}`));

test('the store\'s balance shows the charge; a payout to a refused account fails and gives the money back', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, `#/merchant/${state.store.id}/orders`, 'shop-orders');
	await page.click('#to-money');
	await settled(page, 'balance');
	assert.equal(await page.textContent('#balance-available'), 'Rp250.000');
	assert.deepEqual(await statementRows(page), ['payment/transfer']);
	await payout(page, '100.000', 'failed');
	const failed = page.locator('#payouts > li').first();
	assert.equal(await failed.getAttribute('data-status'), 'failed');
	assert.equal(await failed.locator('.badge').textContent(), 'Gagal');
	const [refused] = (await expect(server.url, 200, 'GET', `/api/v1/merchants/${state.store.id}/payouts`, { token: state.owner })).payouts;
	assert.ok(refused.failure_reason);
	assert.equal(await failed.locator('.form-error').textContent(), refused.failure_reason, 'the provider\'s reason is shown');
	assert.equal(await page.textContent('#balance-available'), 'Rp250.000');
	assert.deepEqual(await statementRows(page), ['payout/voided', 'payout/held', 'payment/transfer']);
	await finish(page, PHONE, 'money-payout-failed');
});

test('with a good account a payout completes; the statement opens at zero and closes at the balance', async () => {
	await expect(server.url, 200, 'PUT', `/api/v1/merchants/${state.store.id}`, { token: state.owner, body: { bank_account: '1234567890' } });
	const page = await openPage(browser, server);
	await signIn(page, siti, money(), 'balance');
	assert.match(await page.textContent('main'), /BNI 1234567890 a\.n\. Siti Aminah/);
	await payout(page, 'Rp100.000', 'completed');
	assert.deepEqual(await page.$$eval('#payouts > li', (els) => els.map((e) => e.dataset.status)), ['completed', 'failed']);
	assert.equal(await page.textContent('#balance-available'), 'Rp150.000');
	assert.equal(await page.textContent('#balance-total'), 'Rp150.000');
	assert.equal(await page.textContent('#opening td:nth-child(3)'), 'Rp0');
	assert.equal(await page.textContent('#closing td:nth-child(3)'), 'Rp150.000');
	assert.deepEqual(await statementRows(page), ['payout/posted', 'payout/held', 'payout/voided', 'payout/held', 'payment/transfer']);
	await finish(page, PHONE, 'money-payout-completed');
	for (const [viewport, suffix] of [[PHONE, 'phone'], [DESKTOP, 'desktop']]) {
		const p = await openPage(browser, server, viewport);
		await signIn(p, siti, money(), 'balance');
		for (const key of ['#balance', '#payout-form', '#payouts', '#statement'])
			assert.equal(await p.isVisible(key), true, `${suffix}: ${key}`);
		await finish(p, viewport, `money-${suffix}`);
	}
});

// 'YYYY-MM-DD' of the WIB day `days` from today.
const wibDay = (days) => new Date(Date.now() + (7 * 60 + days * 24 * 60) * 60000).toISOString().slice(0, 10);

// Picks the statement's period in the page (dates, '' for open) and waits for the screen it leads to.
async function period(page, from, to) {
	await page.fill('#f-from', from);
	await page.fill('#f-to', to);
	await rerender(page, 'balance', () => page.click('form.statement-filters button[type="submit"]'));
}

const figure = (page, row, column) => page.textContent(`#${row} td:nth-child(${column === 'balance' ? 3 : 4})`);

test('the statement over a period shows the server\'s opening and closing; the period is in the hash', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, money(), 'balance');
	// Yesterday to today (WIB, both included) holds every entry, made moments ago.
	await period(page, wibDay(-1), wibDay(0));
	assert.equal(await page.evaluate(() => location.hash), `${money()}?from=${wibDay(-1)}&to=${wibDay(0)}`);
	assert.equal(await page.inputValue('#f-from'), wibDay(-1), 'the filter shows the period it came from');
	assert.deepEqual(await statementRows(page), ['payout/posted', 'payout/held', 'payout/voided', 'payout/held', 'payment/transfer']);
	assert.equal(await figure(page, 'opening', 'balance'), 'Rp0');
	assert.equal(await figure(page, 'closing', 'balance'), 'Rp150.000');
	assert.equal(await figure(page, 'closing', 'available'), 'Rp150.000');
	// From tomorrow: no entry yet, and the period opens and closes at today's balance (no page of entries could say so).
	await period(page, wibDay(1), '');
	assert.deepEqual(await statementRows(page), []);
	assert.equal(await page.isVisible('#no-entries'), true);
	assert.equal(await figure(page, 'opening', 'balance'), 'Rp150.000');
	assert.equal(await figure(page, 'opening', 'available'), 'Rp150.000');
	assert.equal(await figure(page, 'closing', 'balance'), 'Rp150.000');
	await finish(page, PHONE, 'money-period-empty');
	// Until long ago: nothing, at zero.
	const old = await openPage(browser, server);
	await signIn(old, siti, `${money()}?to=2000-01-01`, 'balance');
	assert.deepEqual(await statementRows(old), []);
	assert.equal(await figure(old, 'opening', 'balance'), 'Rp0');
	assert.equal(await figure(old, 'closing', 'available'), 'Rp0');
	// A date that is not one: its message in the statement's place, the rest of the screen stays.
	await rerender(old, 'balance', () => old.evaluate((hash) => { location.hash = hash; }, `${money()}?from=2026-02-30`));
	await errorAlert(old);
	assert.equal(await old.isVisible('#balance'), true);
	assert.equal(await old.isVisible('#statement'), false);
	await finish(old, PHONE, 'money-period-bad');
});

// The paper size of a PDF's pages (points) and how many there are, as
// chromium prints the page with its CSS page size.
async function printed(page) {
	const pdf = (await page.pdf({ preferCSSPageSize: true, printBackground: true })).toString('latin1');
	return [...pdf.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)].map((m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))]);
}
const A5 = [420, 595];
const A4 = [595, 842];

// What print does to the screen: the header and the buttons go; sheet names its page.
async function printView(page, sheet) {
	await page.emulateMedia({ media: 'print' });
	const seen = await page.evaluate((selector) => ({
		header: getComputedStyle(document.getElementById('header')).display,
		actions: getComputedStyle(document.querySelector('.print-actions')).display,
		page: getComputedStyle(document.querySelector(selector)).page,
	}), sheet);
	await page.emulateMedia({ media: null });
	return seen;
}

test('a packing slip per order prints on A5 with the buyer, the courier and the items, no prices', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, `#/merchant/${state.store.id}/orders`, 'shop-orders');
	await page.click(`li[data-order-id="${state.order.id}"] .slip-link`);
	await settled(page, 'slip');
	assert.equal(await page.textContent('main h1'), `Slip pengiriman pesanan #${state.order.id}`);
	assert.match(await page.textContent('#slip-to'), /Budi\n08123456789\nJl\. Ahmad Yani 1\nPayakumbuh 26213/);
	assert.equal(await page.textContent('#slip-courier'), 'Diantar sendiri oleh toko (tanpa ongkir)');
	assert.deepEqual(await page.$$eval('#slip-items tbody tr', (rows) => rows.map((r) => [r.children[1].textContent, r.querySelector('.qty').textContent])),
		[['Rendang Sapi', '2'], ['Keripik Balado', '3']]);
	assert.match(await page.textContent('#slip-items tfoot'), /1600 g/);
	assert.doesNotMatch(await page.textContent('#slip'), /Rp/, 'a slip shows no prices');
	assert.deepEqual(await printView(page, '#slip'), { header: 'none', actions: 'none', page: 'a5' });
	assert.deepEqual(await printed(page), [A5]);
	await finish(page, PHONE, 'slip-phone');
	const wide = await openPage(browser, server, DESKTOP);
	await signIn(wide, siti, `#/merchant/${state.store.id}/slip/${state.order.id}`, 'slip');
	assert.equal(await wide.isVisible('#print'), true);
	await finish(wide, DESKTOP, 'slip-desktop');
});

test('the static QRIS poster shows the store, its QR and NMID, and prints on A5 or A4', async () => {
	const page = await openPage(browser, server);
	await signIn(page, siti, `#/merchant/${state.store.id}/orders`, 'shop-orders');
	await page.click('#to-poster');
	await settled(page, 'poster');
	await page.waitForFunction(() => document.getElementById('poster-qr')?.naturalWidth > 0);
	assert.match(await page.getAttribute('#poster-qr', 'src'), /^data:image\/svg\+xml;base64,/);
	const svg = Buffer.from((await page.getAttribute('#poster-qr', 'src')).split(',')[1], 'base64').toString();
	assert.match(svg, /<svg[\s>]/);
	assert.equal(await page.textContent('.poster-store'), 'Warung Bu Siti');
	assert.equal(await page.textContent('#poster-nmid'), 'ID1020021181745');
	assert.deepEqual(await printView(page, '#poster'), { header: 'none', actions: 'none', page: 'a5' });
	assert.deepEqual(await printed(page), [A5], 'the poster fits one A5 sheet');
	await finish(page, PHONE, 'poster-phone');
	const wide = await openPage(browser, server, DESKTOP);
	await signIn(wide, siti, `#/merchant/${state.store.id}/poster`, 'poster');
	await wide.click('#size-a4');
	await wide.waitForSelector('#poster[data-size="a4"]');
	await settled(wide, 'poster');
	await wide.waitForFunction(() => document.getElementById('poster-qr')?.naturalWidth > 0);
	assert.equal((await printView(wide, '#poster')).page, 'a4');
	assert.deepEqual(await printed(wide), [A4], 'the poster fits one A4 sheet');
	await finish(wide, DESKTOP, 'poster-desktop');
});
