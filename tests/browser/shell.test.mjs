// The page shell in a real browser: layout at phone and desktop width, the
// language switch, sign-in, registration and sign-out against the real API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { registerUser } from './lib/seed.mjs';
import { launch, settled, screenshot, visit, finish, errorAlert, PHONE, DESKTOP } from './lib/browser.mjs';

let server;
let browser;

before(async () => {
	server = await startServer();
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly');
});

for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
	test(`the shell loads at ${label} width with its key elements`, async () => {
		const page = await visit(browser, server, '', 'home', viewport);
		assert.equal(page.response.status(), 200);
		assert.match(page.response.headers()['content-type'], /^text\/html/);
		assert.equal(await page.getAttribute('html', 'lang'), 'id');
		assert.equal(await page.textContent('main h1'), 'Belanja dari warung kota');
		for (const selector of ['header .logo', 'nav[aria-label]', '#lang-switch', '#nav-signin', 'a[href="#/search"]',
			'#home-categories', '#home-stores', '#home-products'])
			assert.ok(await page.isVisible(selector), `${selector} is visible`);
		// Keyboard: the first Tab reaches the skip link.
		await page.keyboard.press('Tab');
		assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
		await finish(page, viewport, `shell-home-${label}`);
	});
}

test('the language switch turns the page to English and back, and is remembered', async () => {
	const page = await visit(browser, server, '#/signin', 'signin');
	assert.equal(await page.textContent('main h1'), 'Masuk');
	assert.equal(await page.textContent('label[for="password"]'), 'Kata sandi');
	await page.click('#lang-switch');
	await page.waitForFunction(() => document.documentElement.lang === 'en');
	await settled(page, 'signin');
	assert.equal(await page.textContent('main h1'), 'Sign in');
	assert.equal(await page.textContent('label[for="password"]'), 'Password');
	await screenshot(page, 'shell-signin-english');
	await page.reload();
	await settled(page, 'signin');
	assert.equal(await page.textContent('main h1'), 'Sign in', 'the choice survives a reload');
	await page.click('#lang-switch');
	await page.waitForFunction(() => document.documentElement.lang === 'id');
	assert.equal(await page.textContent('#lang-switch'), 'English');
	await page.context().close();
});

test('a bad password shows the API message; the right one signs in and out', async () => {
	await registerUser(server.url, 'siti', 'siti-password-1');
	const page = await visit(browser, server, '#/signin', 'signin');
	await page.fill('#username', 'siti');
	await page.fill('#password', 'wrong-password');
	await page.click('form.signin-form button[type="submit"]');
	const alert = await errorAlert(page, '.form-status');
	assert.equal(await alert.getAttribute('data-code'), 'invalid_credentials');
	assert.match(await alert.textContent(), /Nama pengguna atau kata sandi salah/);
	assert.match(await alert.textContent(), /wrong username or password/, "the API's own message is shown");
	await screenshot(page, 'shell-signin-bad-password');

	await page.fill('#password', 'siti-password-1');
	await page.click('form.signin-form button[type="submit"]');
	await settled(page, 'home');
	assert.equal(await page.textContent('.who'), 'Masuk sebagai siti');
	const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('bangsoleh.session'), local: localStorage.getItem('bangsoleh.session') }));
	assert.ok(JSON.parse(stored.session).token, 'the token is in sessionStorage');
	assert.equal(stored.local, null, 'and not in localStorage');
	const token = JSON.parse(stored.session).token;

	await page.click('#signout');
	await page.locator('#nav-signin').waitFor();
	const me = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
	assert.equal(me.status, 401, 'sign-out revoked the token at the server');
	assert.deepEqual(page.problems.filter((p) => !/401/.test(p)), []);
	await page.context().close();
});

test('registration signs the new person in; a taken name shows the API error', async () => {
	const page = await visit(browser, server, '#/register', 'register');
	await page.fill('#username', 'budi');
	await page.fill('#password', 'budi-password-1');
	await page.selectOption('#role', 'merchant');
	await page.click('form.register-form button[type="submit"]');
	await settled(page, 'home');
	assert.equal(await page.textContent('.who'), 'Masuk sebagai budi');
	const me = await page.evaluate(async () => {
		const { token } = JSON.parse(sessionStorage.getItem('bangsoleh.session'));
		return (await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } })).json();
	});
	assert.equal(me.role, 'merchant');
	await page.click('#signout');
	await page.locator('#nav-signin').waitFor();

	await page.goto('/#/register');
	await settled(page, 'register');
	await page.fill('#username', 'budi');
	await page.fill('#password', 'another-password');
	await page.click('form.register-form button[type="submit"]');
	const alert = await errorAlert(page, '.form-status');
	assert.equal(await alert.getAttribute('data-code'), 'username_taken');
	await page.context().close();
});

test('an unknown screen says so, and an unknown file is a 404', async () => {
	const page = await visit(browser, server, '#/no-such-screen', 'notfound');
	assert.equal(await page.textContent('main h1'), 'Halaman tidak ditemukan');
	const response = await page.goto('/no-such-file.html');
	assert.equal(response.status(), 404);
	await page.context().close();
});
