// What the auditor's and the city officer's browser tests share: activity
// through the API and the sandbox provider (a paid in-store charge, a paid
// order), waiting for a screen to render again, and checking a list of screens.
import assert from 'node:assert/strict';
import { expect } from './lib/seed.mjs';
import { openPage, signIn, settled, screenshot, PHONE } from './lib/browser.mjs';

// Calls check() every 100 ms until it resolves to something truthy (at most 10 s).
export async function until(what, check) {
	for (let i = 0; i < 100; i++) {
		const value = await check();
		if (value) return value;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new Error(`timed out waiting for ${what}`);
}

async function paid(base, token, paymentId) {
	return until(`payment ${paymentId} to be paid`, async () =>
		(await expect(base, 200, 'GET', `/api/v1/payments/${paymentId}`, { token })).status === 'paid');
}

// An in-store charge of amount at the store, paid by the sandbox; resolves to the payment.
export async function paidCharge(base, sandbox, ownerToken, storeId, amount) {
	const payment = await expect(base, 201, 'POST', `/api/v1/merchants/${storeId}/charges`, { token: ownerToken, body: { amount } });
	await sandbox.pay(payment.id);
	await paid(base, ownerToken, payment.id);
	return payment;
}

// A checkout of items ([{product_id, quantity}]), each store delivering by
// its own means, paid by the sandbox; resolves to the group.
export async function paidOrder(base, sandbox, shopperToken, items, key) {
	const res = await fetch(`${base}/api/v1/checkout`, { method: 'POST', headers: { Authorization: `Bearer ${shopperToken}`,
		'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify({ items,
		ship_to: { name: 'Budi', phone: '08123456789', address: 'Jl. Ahmad Yani 1', city: 'Payakumbuh', postal_code: '26211' } }) });
	const group = await res.json();
	if (res.status !== 201) throw new Error(`checkout: ${res.status} ${JSON.stringify(group)}`);
	await sandbox.pay(group.payment_id);
	await paid(base, shopperToken, group.payment_id);
	return group;
}

// Does act (a click, a submit, a reload) and waits for the screen name to
// render again (its first node is a new one).
export async function rerender(page, name, act) {
	await page.evaluate(() => document.querySelector('main').firstElementChild?.setAttribute('data-stale', ''));
	await act();
	await page.waitForSelector(`main[data-page="${name}"][aria-busy="false"] > :first-child:not([data-stale])`);
}

// Opens each screen [hash, name, key selectors] on page (of viewport's size,
// labelled label): its key elements are visible, its text holds no stray
// null or undefined, nothing is wider than the screen; saves a screenshot.
export async function checkScreens(page, screens, viewport, label) {
	for (const [hash, name, keys] of screens) {
		await page.goto(`/${hash}`);
		await settled(page, name);
		for (const key of keys) assert.ok(await page.isVisible(key), `${name}: ${key} is visible`);
		assert.doesNotMatch(await page.textContent('main'), /\bnull\b|undefined|\[object /, `${name}: no stray value`);
		const width = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(width <= viewport.width, `${name}: the page is ${width} px wide`);
		await screenshot(page, `screen-${name}-${label}`);
	}
}

// A new page (own context) of viewport's size signed in as who, at hash's screen name.
export async function signedInPage(browser, server, who, hash, name, viewport = PHONE) {
	const page = await openPage(browser, server, viewport);
	await signIn(page, who, hash, name);
	return page;
}
