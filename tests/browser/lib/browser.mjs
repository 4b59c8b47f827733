// Headless Debian chromium through playwright-core (no browser download),
// and screenshots saved as test artifacts.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
		headless: true,
		// --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
		args: ['--no-sandbox', '--disable-dev-shm-usage'],
	});
}

// A fresh page (own storage) of the given size on the server.
export async function openPage(browser, server, viewport = PHONE) {
	const context = await browser.newContext({ viewport, baseURL: server.url, locale: 'id-ID' });
	const page = await context.newPage();
	page.setDefaultTimeout(10000);
	const problems = [];
	page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
	page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
	page.problems = problems;
	return page;
}

// Waits until the screen for the current hash has rendered.
export async function settled(page, name) {
	await page.waitForSelector(`main[data-page="${name}"][aria-busy="false"]`);
}

// Saves a full-page screenshot as ARTIFACTS/<name>.png (BANGSOLEH_BROWSER_ARTIFACTS,
// set by tests/browser/meson.build to the build folder's meson-logs/browser).
export async function screenshot(page, name) {
	const dir = process.env.BANGSOLEH_BROWSER_ARTIFACTS ?? 'browser-artifacts';
	mkdirSync(dir, { recursive: true });
	await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

// A fresh page at a hash ('#/search'), once its screen has rendered. The
// document's response is page.response.
export async function visit(browser, server, hash, name, viewport = PHONE) {
	const page = await openPage(browser, server, viewport);
	page.response = await page.goto(`/${hash}`);
	await settled(page, name);
	return page;
}

// Checks that nothing is wider than the viewport (no sideways scrolling) and
// that the page logged no error, saves a screenshot and closes the page.
export async function finish(page, viewport, shot) {
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	if (width > viewport.width) throw new Error(`page width ${width} is over ${viewport.width}`);
	await screenshot(page, shot);
	if (page.problems.length) throw new Error(page.problems.join('\n'));
	await page.context().close();
}

// The error box under scope, once shown (it carries the API's code in data-code).
export async function errorAlert(page, scope = 'main') {
	const alert = page.locator(`${scope} [role="alert"][data-code]`);
	await alert.waitFor();
	return alert;
}

// Signs in through the page's form as who ({username, password}), then opens
// hash and waits for its screen (name).
export async function signIn(page, who, hash, name) {
	await page.goto('/#/signin');
	await settled(page, 'signin');
	await page.fill('#username', who.username);
	await page.fill('#password', who.password);
	await page.click('form.signin-form button[type="submit"]');
	await settled(page, 'home');
	await page.goto(`/${hash}`);
	await settled(page, name);
}
