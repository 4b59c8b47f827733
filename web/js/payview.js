// A payment on screen: the amount, the QRIS code large, a countdown to its
// expiry, and its status, which changes by itself as the payment's event
// stream reports (live.js). Used by the shopper's payment page and the
// merchant's in-store charge.
import { h, errorBox } from './dom.js';
import { t } from './i18n.js';
import { open } from './api.js';
import { formatRupiah } from './format.js';
import { formatTime } from './time.js';
import { watchPayment } from './live.js';
import { onLeave } from './router.js';

// An SVG the API serves only with the bearer token (a QR) as a data: URL for
// an <img> (the Content-Security-Policy allows data: images, not blob:).
export async function svgDataUrl(path) {
	const response = await open('GET', path, { accept: 'image/svg+xml' });
	const svg = new Uint8Array(await response.arrayBuffer());
	let binary = '';
	for (const b of svg) binary += String.fromCharCode(b);
	return `data:image/svg+xml;base64,${btoa(binary)}`;
}

async function qrImage(payment, img, box) {
	try {
		img.src = await svgDataUrl(payment.qr_svg_url);
	} catch (err) {
		box.replaceChildren(errorBox(err));
	}
}

// A payment whose money went into the books has a receipt (refunds later do not undo that).
const RECEIPTED = new Set(['paid', 'partially_refunded', 'refunded']);
export const hasReceipt = (payment) => RECEIPTED.has(payment.status);

// "14:05" left until expiresAt (by this device's clock), never below zero.
export function remaining(expiresAt, now = Date.now()) {
	const s = Math.max(0, Math.floor((Date.parse(expiresAt) - now) / 1000));
	return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// The panel of payment (the API's payment object). onChange(payment) is told
// every new state. The stream and the countdown stop when the screen is left.
export function paymentPanel(payment, { onChange } = {}) {
	const status = h('p', { class: 'pay-status', role: 'status', 'aria-live': 'polite' });
	const img = h('img', { class: 'qr', alt: t('pay.qr.alt'), width: 292, height: 292 });
	const qrBox = h('div', { class: 'qr-box' }, img);
	const countdown = h('p', { class: 'countdown', 'aria-live': 'off' });
	const problem = h('div');
	// Shown while the event stream cannot be reopened: the status may be behind.
	const connection = h('p', { class: 'note pay-connection', role: 'status', hidden: true }, t('pay.reconnecting'));
	const panel = h('section', { class: 'payment-panel', 'aria-label': t('pay.panel'), 'data-payment-id': payment.id },
		h('p', { class: 'price big pay-amount' }, formatRupiah(payment.amount)),
		status, connection, qrBox, countdown, problem);
	let timer = null;
	const tick = () => {
		countdown.textContent = t('pay.countdown', { left: remaining(payment.expires_at), time: formatTime(payment.expires_at) });
	};
	const show = (p) => {
		payment = p;
		panel.dataset.status = p.status;
		status.textContent = t(`pay.status.${p.status}`);
		const waiting = p.status === 'pending';
		qrBox.hidden = !waiting;
		countdown.hidden = !waiting;
		if (waiting && !timer) {
			tick();
			timer = setInterval(tick, 1000);
		} else if (!waiting && timer) {
			clearInterval(timer);
			timer = null;
		}
		onChange?.(p);
	};
	show(payment);
	if (payment.status === 'pending') qrImage(payment, img, qrBox);
	const stop = watchPayment(payment.id, (p) => { if (p.status !== payment.status) show(p); else payment = p; },
		(err) => problem.replaceChildren(errorBox(err)), (down) => { connection.hidden = !down; });
	onLeave(() => {
		stop();
		if (timer) clearInterval(timer);
	});
	return panel;
}
