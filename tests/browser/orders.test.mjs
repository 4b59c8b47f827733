// A shopper's orders page in a real browser: with more orders than a page
// holds, it shows the newest 20 first with "earlier orders", whose page holds
// the rest and leads back to the newest; both at phone and desktop width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login } from './lib/seed.mjs';
import { SHIP_TO } from './lib/orders.mjs';
import { launch, openPage, signIn, finish, PHONE, DESKTOP } from './lib/browser.mjs';
import { rerender } from './audit-activity.mjs';

const ORDERS = 23;      // a page of 20 and three more
let server;
let sandbox;
let browser;
const rina = { username: 'rina', password: 'rina-password-1' };
const made = [];        // order ids, oldest first

before(async () => {
	({ server, sandbox } = await startWithSandbox());
	const base = server.url;
	const { products } = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti',
		products: [{ title: 'Kerupuk Jangek', price: 12000, category: 'camilan', weight_g: 200, stock: 100 }] });
	await registerUser(base, rina.username, rina.password);
	const token = await login(base, rina.username, rina.password);
	// Orders not paid yet are orders all the same: one checkout each.
	for (let i = 0; i < ORDERS; i++) {
		const res = await fetch(`${base}/api/v1/checkout`, { method: 'POST', headers: { Authorization: `Bearer ${token}`,
			'Content-Type': 'application/json', 'Idempotency-Key': `orders-page-${i}` },
		body: JSON.stringify({ items: [{ product_id: products[0].id, quantity: 1 }], ship_to: SHIP_TO, shipping: {} }) });
		assert.equal(res.status, 201);
		const group = await res.json();
		made.push(...group.orders.map((o) => o.id));
	}
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

const shown = (page) => page.$$eval('.order-card', (els) => els.map((e) => Number(e.dataset.orderId)));

for (const [viewport, suffix] of [[PHONE, 'phone'], [DESKTOP, 'desktop']]) {
	test(`the newest 20 first, then the earlier ones, and back (${suffix})`, async () => {
		const newest = [...made].reverse();
		const page = await openPage(browser, server, viewport);
		await signIn(page, rina, '#/orders', 'orders');
		assert.deepEqual(await shown(page), newest.slice(0, 20));
		assert.equal(await page.$('#orders-newest'), null, 'the first page has no way back');
		await rerender(page, 'orders', () => page.click('#orders-more'));
		assert.match(await page.evaluate(() => location.hash), /^#\/orders\?cursor=/);
		assert.deepEqual(await shown(page), newest.slice(20));
		assert.equal(await page.$('#orders-more'), null, 'the last page has no "more"');
		await finish(page, viewport, `orders-earlier-${suffix}`);

		const back = await openPage(browser, server, viewport);
		await signIn(back, rina, '#/orders', 'orders');
		await rerender(back, 'orders', () => back.click('#orders-more'));
		await rerender(back, 'orders', () => back.click('#orders-newest'));
		assert.equal(await back.evaluate(() => location.hash), '#/orders');
		assert.deepEqual(await shown(back), newest.slice(0, 20));
		await finish(back, viewport, `orders-newest-${suffix}`);
	});
}
