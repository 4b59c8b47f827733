// Accessibility of every main screen of every role in a real browser: axe-core
// (pinned in package-lock.json, test-only, never served) finds no WCAG 2.0, 2.1
// or 2.2 A or AA violation at phone (360 px) and desktop width, nothing scrolls
// sideways at 360 px, and each screen is saved as a11y-<screen>-<width>.png
// once its key element shows. Then a shopper finds a product, puts it in the
// cart, checks out and reaches the payment with the keyboard alone, seeing
// where focus is; and a broken page shows that the checks can fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startWithSandbox } from './lib/sandbox.mjs';
import { seedStore, registerUser, login, expect } from './lib/seed.mjs';
import { paidOrder, waitFor, SHIP_TO } from './lib/orders.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, openPage, settled, signIn, screenshot, PHONE, DESKTOP } from './lib/browser.mjs';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

let server;
let sandbox;
let browser;
const people = {
	shopper: { username: 'budi', password: 'budi-password-1' },
	merchant: { username: 'siti', password: 'siti-password' },
	courier: { username: 'rizal', password: 'rizal-password-1' },
	auditor: { username: 'rina', password: 'rina-password-1' },
	admin: ADMIN,
};
// role ('anonymous': signed out) → [{shot, hash, name, key, act?, fails?}]: the screenshot's
// name, the screen's hash and page name, its key element, what to do there
// first (act(page)), and the HTTP status its failed request is meant to have.
let screens;
let unpaidGroup; // the group of an order not yet paid: its payment screen follows the stream

before(async () => {
	({ server, sandbox } = await startWithSandbox(['--set', 'courier.gateway=local', '--set', 'courier.local_flat=15000']));
	const base = server.url;
	const admin = await login(base, ADMIN.username, ADMIN.password);
	for (const role of ['courier', 'auditor'])
		await expect(base, 201, 'POST', '/api/v1/users', { token: admin, body: { ...people[role], role } });
	await registerUser(base, people.shopper.username, people.shopper.password);
	const buyer = await login(base, people.shopper.username, people.shopper.password);

	const siti = await seedStore(base, { owner: 'siti', name: 'Warung Bu Siti',
		details: { address: 'Jl. Sudirman 12', phone: '081234567890', lat_e6: -223100, lng_e6: 100633100 },
		products: [{ title: 'Rendang Sapi', price: 45000, category: 'lauk', weight_g: 500, description: 'Rendang daging sapi.' },
			{ title: 'Kerupuk Jangek', price: 12500, category: 'camilan', weight_g: 200 }] });
	const merchant = await login(base, 'siti', people.merchant.password);
	// One order the city's courier takes (a job and its page), one the store
	// delivers itself and the buyer complains about (an officer's complaint).
	const shipped = await paidOrder(base, sandbox, { token: buyer, storeId: siti.store.id, courier: true,
		items: [{ product_id: siti.products[0].id, quantity: 1 }], key: 'a11y-courier' });
	await expect(base, 200, 'POST', `/api/v1/orders/${shipped.id}/confirm`, { token: merchant });
	const disputed = await paidOrder(base, sandbox, { token: buyer, storeId: siti.store.id,
		items: [{ product_id: siti.products[1].id, quantity: 2 }], key: 'a11y-dispute' });
	await expect(base, 200, 'POST', `/api/v1/orders/${disputed.id}/confirm`, { token: merchant });
	await expect(base, 200, 'POST', `/api/v1/orders/${disputed.id}/ship`, { token: merchant });
	await expect(base, 200, 'POST', `/api/v1/orders/${disputed.id}/deliver`, { token: admin });
	await expect(base, 200, 'POST', `/api/v1/orders/${disputed.id}/complaint`, { token: buyer, body: { reason: 'Kerupuknya hancur' } });
	// A third order waits for the store, so its orders screen has one to decide.
	await paidOrder(base, sandbox, { token: buyer, storeId: siti.store.id,
		items: [{ product_id: siti.products[1].id, quantity: 1 }], key: 'a11y-waiting' });
	// A fourth is not paid yet: its payment screen shows the QR and the countdown.
	const unpaid = await fetch(`${base}/api/v1/checkout`, { method: 'POST', headers: { Authorization: `Bearer ${buyer}`,
		'Content-Type': 'application/json', 'Idempotency-Key': 'a11y-unpaid' },
	body: JSON.stringify({ items: [{ product_id: siti.products[0].id, quantity: 1 }], ship_to: SHIP_TO, shipping: {} }) });
	assert.equal(unpaid.status, 201);
	const group = await unpaid.json();
	unpaidGroup = group.id;

	const courier = await login(base, people.courier.username, people.courier.password);
	await expect(base, 201, 'PUT', '/api/v1/courier/profile', { token: courier, body: { name: 'Uda Rizal', phone: '08127770001',
		plate: 'BA 1234 XY', bank_code: 'BRI', bank_account: '9876543210', bank_name: 'Rizal' } });
	const order = await waitFor(base, buyer, `/api/v1/orders/${shipped.id}`, (o) => Boolean(o.shipment_id));
	await expect(base, 200, 'POST', `/api/v1/shipments/${order.shipment_id}/accept`, { token: courier });

	// A store waiting for verification, on the officer's list.
	await registerUser(base, 'ani', 'ani-password-1', 'merchant');
	await expect(base, 201, 'POST', '/api/v1/merchants', { token: await login(base, 'ani', 'ani-password-1'),
		body: { name: 'Keripik Bu Ani', city: 'PAYAKUMBUH', postal_code: '26211', criteria: 'UMI', nmid: 'ID1020021181746', category: 'makanan' } });
	await expect(base, 201, 'POST', '/api/v1/audit/checkpoints', { token: admin });

	const store = siti.store.id;
	const product = siti.products[0].id;
	const s = (shot, hash, name, key = 'main h1', more = {}) => ({ shot, hash, name, key, ...more });
	const cartLine = { product_id: product, merchant_id: store, title: 'Rendang Sapi', price: 45000, quantity: 2 };
	// Put a line in the cart (localStorage) before the cart and checkout screens.
	const withCart = async (page) => {
		await page.evaluate((line) => localStorage.setItem('bangsoleh.cart', JSON.stringify([line])), cartLine);
		await page.reload();
	};
	screens = {
		anonymous: [s('home', '#/', 'home', '#home-products'), s('search', '#/search?q=rendang', 'search'),
			s('store', `#/store/${store}`, 'store'), s('product', `#/product/${product}`, 'product', '#add-to-cart'),
			s('cart-empty', '#/cart', 'cart'), s('signin', '#/signin', 'signin', '#username'), s('register', '#/register', 'register', '#role'),
			s('notfound', '#/no-such-screen', 'notfound'),
			// An API error in place of a screen: the error box (the browser logs the 404).
			s('error', '#/product/999999', 'product', '[role="alert"][data-code]', { fails: 404 })],
		shopper: [s('orders', '#/orders', 'orders'), s('order', `#/orders/${shipped.id}`, 'order', '#delivery-pin'),
			s('order-disputed', `#/orders/${disputed.id}`, 'order'), s('complaint', `#/orders/${disputed.id}/complaint`, 'complaint', '#complaint-state'),
			s('receipt', `#/receipt/${shipped.payment_id}`, 'receipt', '#verdict[data-verdict="verified"]'),
			s('pay', `#/pay/${group.id}`, 'pay', '.payment-panel img.qr'),
			s('cart', '#/cart', 'cart', '.cart-line', { act: withCart }),
			s('checkout', '#/checkout', 'checkout', '#place-order', { act: async (page) => {
				await withCart(page);
				await settled(page, 'checkout');
				for (const [field, value] of Object.entries(SHIP_TO)) await page.fill(`#ship-${field}`, value);
				await page.click('form.address-form button[type="submit"]');
				await page.waitForSelector('#place-order');
			} })],
		merchant: [s('merchant', '#/merchant', 'merchant'), s('shop', `#/merchant/${store}`, 'shop', '#shop-orders'),
			s('product-new', `#/merchant/${store}/products/new`, 'product-form', 'form'),
			s('product-edit', `#/merchant/${store}/products/${product}`, 'product-form', 'form'),
			s('shop-orders', `#/merchant/${store}/orders`, 'shop-orders', '#waiting-count'),
			s('charge', `#/merchant/${store}/charge`, 'charge', 'form'), s('money', `#/merchant/${store}/money`, 'balance'),
			s('charge-qr', `#/merchant/${store}/charge`, 'charge', '.payment-panel img.qr', { act: async (page) => {
				await page.fill('#amount', '25.000');
				await page.click('form.charge-form button[type="submit"]');
				await page.waitForSelector('.payment-panel img.qr');
			} }),
			s('slip', `#/merchant/${store}/slip/${shipped.id}`, 'slip', '.slip'),
			s('poster', `#/merchant/${store}/poster`, 'poster', '.poster-qr')],
		courier: [s('courier', '#/courier', 'courier', '#open-heading'), s('courier-job', `#/courier/job/${order.shipment_id}`, 'courier-job', '#next-step'),
			s('courier-profile', '#/courier/profile', 'courier-profile', '#name'), s('earnings', '#/courier/earnings', 'earnings')],
		auditor: [s('audit-journal', '#/audit/journal', 'audit-journal', '#journal'), s('audit-balance', '#/audit/balance', 'audit-balance', '#balanced'),
			s('audit-account', '#/audit/account/escrow', 'audit-account', 'table.figures'),
			s('audit-reports', '#/audit/reports', 'audit-reports', '#chart-count'), s('audit-findings', '#/audit/findings', 'audit-findings'),
			s('audit-checkpoints', '#/audit/checkpoints', 'audit-checkpoints', '#latest-checkpoint'),
			s('audit-export', '#/audit/export', 'audit-export', '#export-from')],
		admin: [s('admin', '#/admin', 'admin', '#city-totals'), s('admin-stores', '#/admin/stores', 'admin-stores', '#stores-pending'),
			s('admin-complaints', '#/admin/complaints', 'admin-complaints', '#complaints')],
	};
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly and its books verify');
	assert.equal(await sandbox?.stop(), 0, 'the sandbox stops cleanly');
});

// axe-core's WCAG 2.0, 2.1 and 2.2 A and AA rules on the page as it is;
// resolves to a readable list of the violations (empty when none). Text of the
// very colour of its background counts too: axe leaves it "incomplete" (it
// may be meant to be hidden), but shown text must be readable. The source is
// evaluated through the DevTools protocol, which the page's
// Content-Security-Policy (no inline scripts) rightly does not allow a <script> to do.
async function axeViolations(page) {
	if (!await page.evaluate(() => typeof window.axe === 'object')) await page.evaluate(AXE_SOURCE);
	const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), WCAG_TAGS);
	const invisible = result.incomplete.filter((v) => v.id === 'color-contrast')
		.map((v) => ({ ...v, nodes: v.nodes.filter((n) => n.any.some((c) => c.data?.messageKey === 'equalRatio')) }));
	return [...result.violations, ...invisible].flatMap((v) => v.nodes.map((n) =>
		`${v.id} (${v.impact}) at ${n.target.join(' ')}: ${v.help}\n    ${n.failureSummary?.replaceAll('\n', '\n    ')}\n    ${v.helpUrl}`));
}

// Every screen of role at one width: its key element, no violations, no
// sideways scrolling at phone width, a screenshot. Resolves to the problems
// of all screens, so one run lists them all.
async function checkRole(role, viewport) {
	const page = await openPage(browser, server, viewport);
	const problems = [];
	try {
		if (role !== 'anonymous') await signIn(page, people[role], '#/', 'home');
		for (const screen of screens[role]) {
			const logged = page.problems.length;
			await page.goto(`/${screen.hash}`);
			await settled(page, screen.name);
			if (screen.act) {
				await screen.act(page);
				await settled(page, screen.name);
			}
			const where = `${screen.shot} at ${viewport.width} px`;
			if (!await page.isVisible('main h1')) problems.push(`${where}: no visible main heading`);
			if (!await page.isVisible(screen.key)) problems.push(`${where}: ${screen.key} is not visible`);
			const violations = await axeViolations(page);
			if (violations.length) problems.push(`${where}: ${violations.length} accessibility violations\n  ${violations.join('\n  ')}`);
			const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
			if (width > viewport.width) problems.push(`${where}: the page is ${width} px wide`);
			await screenshot(page, `a11y-${screen.shot}-${viewport.width}`);
			if (screen.fails) {
				const others = page.problems.splice(logged).filter((p) => !p.includes(`status of ${screen.fails} `));
				page.problems.push(...others);
			}
		}
		// What the page logged: errors, and failed requests other than a screen's `fails`.
		problems.push(...page.problems);
	} finally {
		await page.context().close();
	}
	return problems;
}

// Both widths at once (two tabs): the screens are many.
for (const role of ['anonymous', 'shopper', 'merchant', 'courier', 'auditor', 'admin'])
	test(`the ${role} screens have no WCAG A/AA violations at phone and desktop width`, async () => {
		const problems = (await Promise.all([checkRole(role, PHONE), checkRole(role, DESKTOP)])).flat();
		assert.deepEqual(problems, [], problems.join('\n'));
	});

// The API answering 500 to everything, as a store failure would; counts the requests.
async function failingApi(page) {
	const hits = { count: 0 };
	await page.route('**/api/v1/**', (route) => {
		hits.count++;
		return route.fulfill({ status: 500, contentType: 'application/json',
			body: JSON.stringify({ error: { code: 'internal', message: 'test: the store failed' } }) });
	});
	return hits;
}

// Screens that ask the API nothing when they open: nothing there can fail.
const NO_API = ['audit-export', 'cart-empty', 'notfound', 'product-new', 'register', 'signin'];

test('every screen that asks the API shows a clear message when it answers an error', async () => {
	const quiet = [];
	for (const role of Object.keys(screens)) {
		const page = await openPage(browser, server, PHONE);
		try {
			if (role !== 'anonymous') await signIn(page, people[role], '#/', 'home');
			const hits = await failingApi(page);
			// Not the screens that need the API to set them up first, nor the one that shows an error anyway.
			for (const screen of screens[role].filter((sc) => !sc.act && !sc.fails)) {
				hits.count = 0;
				await page.goto(`/${screen.hash}`);
				await settled(page, screen.name);
				if (!hits.count) {
					quiet.push(screen.shot);
					continue;
				}
				const alert = page.locator('main [role="alert"][data-code="internal"]').first();
				assert.ok(await alert.isVisible(), `${screen.shot}: no error shown:\n${await page.textContent('main')}`);
				assert.match(await alert.textContent(), /^Server mengalami gangguan\. Coba lagi sebentar lagi\./, screen.shot);
				await screenshot(page, `a11y-api-error-${screen.shot}-360`);
			}
			assert.deepEqual(page.problems.filter((p) => p.startsWith('page error')), [], `${role}: no uncaught error`);
		} finally {
			await page.context().close();
		}
	}
	assert.deepEqual(quiet.sort(), NO_API);
});

test('the payment screen says it is reconnecting while its event stream cannot be opened, and stops once it is', async () => {
	const page = await openPage(browser, server, PHONE);
	try {
		await signIn(page, people.shopper, '#/', 'home');
		let refused = 0;
		const events = '**/api/v1/payments/*/events';
		await page.route(events, (route) => {
			refused++;
			return route.fulfill({ status: 503, contentType: 'application/json',
				body: JSON.stringify({ error: { code: 'unavailable', message: 'test: the stream is down' } }) });
		});
		await page.goto(`/#/pay/${unpaidGroup}`);
		await settled(page, 'pay');
		// Tries after 0, 1 and 2 s more (live.js): the third failure shows the note.
		await page.waitForSelector('.pay-connection', { state: 'visible', timeout: 10000 });
		assert.ok(refused >= 3, `${refused} tries`);
		assert.equal(await page.textContent('.pay-connection'), 'Menyambung ulang ke server… Status pembayaran mungkin belum terbaru.');
		assert.equal(await page.getAttribute('.payment-panel', 'data-status'), 'pending');
		await screenshot(page, 'a11y-pay-reconnecting-360');
		await page.unroute(events);
		// The next try (4 s later) opens the stream: the note goes.
		await page.waitForSelector('.pay-connection', { state: 'hidden', timeout: 10000 });
	} finally {
		await page.context().close();
	}
});

// Where keyboard focus is and whether it shows: an outline (or a shadow), and
// the outline's contrast against the background it is drawn on (the parent's:
// it sits outside the element), which WCAG 1.4.11 wants at 3:1 or more.
function focused(page) {
	return page.evaluate(() => {
		const luminance = (rgb) => {
			const [r, g, b] = rgb.match(/[\d.]+/g).slice(0, 3).map((v) => {
				const c = Number(v) / 255;
				return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
			});
			return 0.2126 * r + 0.7152 * g + 0.0722 * b;
		};
		const el = document.activeElement;
		const style = getComputedStyle(el);
		let under = el.parentElement;
		while (under && /^(transparent|rgba\(.*, 0\))$/.test(getComputedStyle(under).backgroundColor)) under = under.parentElement;
		const [a, b] = [luminance(style.outlineColor), luminance(under ? getComputedStyle(under).backgroundColor : 'rgb(255, 255, 255)')];
		return { tag: el.tagName, id: el.id, className: String(el.className), href: el.getAttribute('href'), type: el.type, value: el.value, text: el.textContent.trim(),
			outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0, shadow: style.boxShadow !== 'none',
			contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
	});
}

// Presses Tab until focus is on an element match(focus) accepts (at most
// limit times); every element on the way must show its focus clearly.
async function tabTo(page, match, limit = 40) {
	for (let i = 0; i < limit; i++) {
		await page.keyboard.press('Tab');
		const now = await focused(page);
		const what = `focus on ${now.tag}#${now.id}.${now.className} "${now.text}"`;
		assert.ok(now.outline || now.shadow, `${what} is visible`);
		if (now.outline) assert.ok(now.contrast >= 3, `${what}: its outline's contrast ${now.contrast.toFixed(2)} is 3:1 or more`);
		if (match(now)) return now;
	}
	throw new Error('Tab never reached the element');
}

test('a shopper finds a product, adds it to the cart, checks out and reaches the payment with the keyboard alone', async () => {
	const page = await openPage(browser, server, PHONE);
	await signIn(page, people.shopper, '#/', 'home');
	// From here on only keys; a fresh load, so the first Tab starts at the top.
	await page.reload();
	await settled(page, 'home');
	const skip = await tabTo(page, () => true, 1);
	assert.equal(skip.className, 'skip', 'the first Tab reaches the skip link');
	assert.ok(await page.isVisible('.skip'), 'the skip link shows when focused');
	assert.deepEqual(await axeViolations(page), [], 'the focused skip link is readable');
	await tabTo(page, (f) => f.href === '#/', 2);
	await tabTo(page, (f) => f.id === 'lang-switch');
	await page.keyboard.press('Enter');
	await page.waitForFunction(() => document.documentElement.lang === 'en');
	assert.equal((await focused(page)).id, 'lang-switch', 'focus stays on the language switch');
	await page.keyboard.press('Enter');
	await page.waitForFunction(() => document.documentElement.lang === 'id');
	await settled(page, 'home');
	await screenshot(page, 'a11y-keyboard-header-360');
	await tabTo(page, (f) => f.href?.startsWith('#/product/') ?? false);
	await page.keyboard.press('Enter');
	await settled(page, 'product');
	assert.equal((await focused(page)).id, 'main', 'focus moves to the new screen');
	await tabTo(page, (f) => f.id === 'add-to-cart', 3);
	await page.keyboard.press('Enter');
	await page.waitForSelector('.add-to-cart a[href="#/cart"]');
	await tabTo(page, (f) => f.href === '#/cart', 1);
	await screenshot(page, 'a11y-keyboard-added-360');
	await page.keyboard.press('Enter');
	await settled(page, 'cart');
	assert.equal(await page.locator('main .cart-line').count(), 1, 'the cart holds the product');
	assert.equal(await page.textContent('#cart-count'), '1');

	await tabTo(page, (f) => f.id === 'to-checkout');
	await page.keyboard.press('Enter');
	await settled(page, 'checkout');
	for (const [field, value] of Object.entries(SHIP_TO)) {
		await tabTo(page, (f) => f.id === `ship-${field}`);
		await page.keyboard.type(value);
	}
	await page.keyboard.press('Enter'); // in the last field: submits the address, asks for rates
	await page.waitForSelector('#place-order');
	const first = await tabTo(page, (f) => f.type === 'radio');
	await page.keyboard.press('ArrowDown'); // the next delivery choice of the store
	const chosen = await page.evaluate(() => document.activeElement.value);
	assert.notEqual(chosen, first.value, 'the arrow keys move between the delivery choices');
	assert.equal(await page.evaluate(() => document.activeElement.checked), true);
	await screenshot(page, 'a11y-keyboard-checkout-360');
	await tabTo(page, (f) => f.id === 'place-order');
	await page.keyboard.press('Enter');
	await settled(page, 'pay');
	assert.ok(await page.isVisible('.payment-panel img.qr'), 'the QRIS code shows');
	assert.equal((await focused(page)).id, 'main', 'focus is on the payment screen');
	assert.deepEqual(page.problems, []);
	await page.context().close();
});

test('the check finds what it looks for: an unlabelled field, text too faint, a page too wide', async () => {
	const page = await openPage(browser, server, PHONE);
	await page.goto('/#/signin');
	await settled(page, 'signin');
	await page.evaluate(() => {
		const faint = document.createElement('p');
		faint.textContent = 'pale';
		faint.style.color = '#bbbbbb';
		const bare = document.createElement('input');
		bare.id = 'bare';
		const wide = document.createElement('div');
		wide.style.width = '500px';
		wide.textContent = 'wide';
		document.getElementById('main').append(faint, bare, wide);
	});
	const found = (await axeViolations(page)).map((v) => v.split(' ')[0]).sort();
	assert.deepEqual([...new Set(found)], ['color-contrast', 'label']);
	assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth) > PHONE.width);
	await page.context().close();
});
