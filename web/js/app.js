// The page shell: header with navigation, the language switch and the
// session, and the screen of the current hash in <main>.
import { h, nodes, errorBox, loading } from './dom.js';
import { t, initLang, setLang, lang, onLangChange } from './i18n.js';
import { session, onSessionChange } from './session.js';
import { signOut } from './api.js';
import { parseHash, matchRoute, navigate, leave } from './router.js';
import { count as cartCount, onCartChange } from './cart.js';
import * as home from './pages/home.js';
import * as search from './pages/search.js';
import * as product from './pages/product.js';
import * as store from './pages/store.js';
import * as signin from './pages/signin.js';
import * as registerPage from './pages/register.js';
import * as cartPage from './pages/cart.js';
import * as checkout from './pages/checkout.js';
import * as pay from './pages/pay.js';
import * as orders from './pages/orders.js';
import * as order from './pages/order.js';
import * as receipt from './pages/receipt.js';
import * as merchant from './pages/merchant.js';
import * as shop from './pages/shop.js';
import * as productForm from './pages/product-form.js';
import * as shopOrders from './pages/shop-orders.js';
import * as charge from './pages/charge.js';
import * as auditJournal from './pages/audit-journal.js';
import * as auditBalance from './pages/audit-balance.js';
import * as auditAccount from './pages/audit-account.js';
import * as auditReports from './pages/audit-reports.js';
import * as auditFindings from './pages/audit-findings.js';
import * as auditCheckpoints from './pages/audit-checkpoints.js';
import * as auditExport from './pages/audit-export.js';
import * as admin from './pages/admin.js';
import * as adminStores from './pages/admin-stores.js';
import * as adminComplaints from './pages/admin-complaints.js';
import * as courierJobs from './pages/courier.js';
import * as courierJob from './pages/courier-job.js';
import * as courierProfile from './pages/courier-profile.js';
import * as earnings from './pages/earnings.js';
import * as balance from './pages/balance.js';
import * as poster from './pages/poster.js';
import * as slip from './pages/slip.js';
import * as complaint from './pages/complaint.js';

const ROUTES = [
	{ pattern: '/', page: home, name: 'home' },
	{ pattern: '/search', page: search, name: 'search' },
	{ pattern: '/product/:id', page: product, name: 'product' },
	{ pattern: '/store/:id', page: store, name: 'store' },
	{ pattern: '/signin', page: signin, name: 'signin' },
	{ pattern: '/register', page: registerPage, name: 'register' },
	{ pattern: '/cart', page: cartPage, name: 'cart' },
	{ pattern: '/checkout', page: checkout, name: 'checkout' },
	{ pattern: '/pay/:id', page: pay, name: 'pay' },
	{ pattern: '/orders', page: orders, name: 'orders' },
	{ pattern: '/orders/:id', page: order, name: 'order' },
	{ pattern: '/receipt/:id', page: receipt, name: 'receipt' },
	{ pattern: '/merchant', page: merchant, name: 'merchant' },
	{ pattern: '/merchant/:id', page: shop, name: 'shop' },
	{ pattern: '/merchant/:id/products/:pid', page: productForm, name: 'product-form' },
	{ pattern: '/merchant/:id/orders', page: shopOrders, name: 'shop-orders' },
	{ pattern: '/merchant/:id/charge', page: charge, name: 'charge' },
	{ pattern: '/audit', page: auditJournal, name: 'audit-journal' },
	{ pattern: '/audit/journal', page: auditJournal, name: 'audit-journal' },
	{ pattern: '/audit/balance', page: auditBalance, name: 'audit-balance' },
	{ pattern: '/audit/account/:id', page: auditAccount, name: 'audit-account' },
	{ pattern: '/audit/reports', page: auditReports, name: 'audit-reports' },
	{ pattern: '/audit/findings', page: auditFindings, name: 'audit-findings' },
	{ pattern: '/audit/checkpoints', page: auditCheckpoints, name: 'audit-checkpoints' },
	{ pattern: '/audit/export', page: auditExport, name: 'audit-export' },
	{ pattern: '/admin', page: admin, name: 'admin' },
	{ pattern: '/admin/stores', page: adminStores, name: 'admin-stores' },
	{ pattern: '/admin/complaints', page: adminComplaints, name: 'admin-complaints' },
	{ pattern: '/merchant/:id/money', page: balance, name: 'balance' },
	{ pattern: '/merchant/:id/poster', page: poster, name: 'poster' },
	{ pattern: '/merchant/:id/slip/:oid', page: slip, name: 'slip' },
	{ pattern: '/orders/:id/complaint', page: complaint, name: 'complaint' },
	{ pattern: '/courier', page: courierJobs, name: 'courier' },
	{ pattern: '/courier/profile', page: courierProfile, name: 'courier-profile' },
	{ pattern: '/courier/earnings', page: earnings, name: 'earnings' },
	{ pattern: '/courier/job/:id', page: courierJob, name: 'courier-job' },
];

const notFound = { render: () => [h('h1', {}, t('notfound.heading')), h('p', {}, h('a', { href: '#/' }, t('notfound.back')))] };

function header() {
	const who = session();
	const links = [h('a', { href: '#/' }, t('nav.home')), h('a', { href: '#/search' }, t('nav.search'))];
	const role = who?.user.role;
	if (!who || role === 'shopper')
		links.push(h('a', { href: '#/cart', id: 'nav-cart' }, t('nav.cart'), ' ', h('span', { class: 'count', id: 'cart-count' }, String(cartCount()))));
	if (role === 'shopper') links.push(h('a', { href: '#/orders', id: 'nav-orders' }, t('nav.orders')));
	if (role === 'merchant') links.push(h('a', { href: '#/merchant', id: 'nav-merchant' }, t('nav.merchant')));
	if (role === 'admin') links.push(h('a', { href: '#/admin', id: 'nav-admin' }, t('nav.admin')));
	if (role === 'auditor' || role === 'admin') links.push(h('a', { href: '#/audit/journal', id: 'nav-audit' }, t('nav.audit')));
	if (role === 'courier') links.push(h('a', { href: '#/courier', id: 'nav-courier' }, t('nav.courier')),
		h('a', { href: '#/courier/earnings', id: 'nav-earnings' }, t('nav.earnings')));
	if (who) {
		links.push(h('span', { class: 'who' }, t('session.as', { username: who.user.username })),
			h('button', { type: 'button', class: 'link', id: 'signout', onclick: async () => {
				await signOut().catch(() => {});
				navigate('#/');
			} }, t('nav.signout')));
	} else {
		links.push(h('a', { href: '#/signin', id: 'nav-signin' }, t('nav.signin')),
			h('a', { href: '#/register' }, t('nav.register')));
	}
	const other = lang() === 'id' ? 'en' : 'id';
	return [
		h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); document.getElementById('main').focus(); } }, t('nav.skip')),
		h('div', { class: 'brand' }, h('a', { href: '#/', class: 'logo' }, t('app.title')), h('span', { class: 'tagline' }, t('app.tagline'))),
		h('nav', { 'aria-label': t('nav.main') }, ...links,
			h('button', { type: 'button', id: 'lang-switch', lang: other, 'aria-label': t('lang.switch.label'),
				onclick: () => setLang(other) }, t('lang.switch'))),
	];
}

// Renders the screen for the current hash; a newer navigation wins over a slower older one.
// After a navigation (moveFocus) whose link went away with the old screen,
// focus goes to <main>: a keyboard or screen reader user starts on the new screen.
let generation = 0;
async function show({ moveFocus = false } = {}) {
	const mine = ++generation;
	leave();
	const { path, params } = parseHash(location.hash);
	const found = matchRoute(ROUTES, path);
	const main = document.getElementById('main');
	document.getElementById('header').replaceChildren(...header());
	main.dataset.page = found ? found.route.name : 'notfound';
	main.setAttribute('aria-busy', 'true');
	main.replaceChildren(loading());
	let content;
	try {
		content = await (found ? found.route.page : notFound).render({ ...(found?.args ?? {}), params });
	} catch (err) {
		content = [h('h1', {}, t('error.title')), errorBox(err)];
	}
	if (mine !== generation) return;
	main.replaceChildren(...nodes(content));
	main.setAttribute('aria-busy', 'false');
	document.title = `${main.querySelector('h1')?.textContent ?? ''} · ${t('app.title')}`;
	if (moveFocus && (!document.activeElement || document.activeElement === document.body)) main.focus();
}

initLang();
// The switch is drawn anew in the other language (show() redraws the header
// before it waits for the screen): focus stays on it.
onLangChange(() => {
	show();
	document.getElementById('lang-switch')?.focus();
});
const redrawHeader = () => document.getElementById('header').replaceChildren(...header());
onSessionChange(redrawHeader);
onCartChange(redrawHeader);
window.addEventListener('hashchange', () => show({ moveFocus: true }));
show();
