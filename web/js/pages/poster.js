// The store's static QRIS poster to print and put up at the till: the store's
// name, the QR of GET /api/v1/merchants/{id}/qris.svg and its NMID, on an A5
// or A4 page (css/print.css names the pages; ?size= chooses).
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { svgDataUrl } from '../payview.js';

export const SIZES = ['a5', 'a4'];

export function printBar(choices) {
	return h('div', { class: 'print-actions' }, choices,
		h('button', { type: 'button', id: 'print', onclick: () => window.print() }, t('print.print')));
}

export async function render({ id, params }) {
	const base = `/api/v1/merchants/${encodeURIComponent(id)}`;
	const size = SIZES.includes(params.get('size')) ? params.get('size') : 'a5';
	const store = await get(base);
	const qr = h('img', { class: 'poster-qr', id: 'poster-qr', alt: t('poster.qr_alt', { store: store.name }), width: 400, height: 400 });
	const box = h('div', { class: 'poster-qr-box' }, qr);
	try {
		qr.src = await svgDataUrl(`${base}/qris.svg`);
	} catch (err) {
		box.replaceChildren(errorBox(err));
	}
	return [
		printBar([h('p', {}, h('a', { href: `#/merchant/${store.id}/orders` }, t('product_form.back'))),
			h('p', { class: 'sizes' }, t('poster.size'), ' ', SIZES.map((s) => s === size
				? h('strong', { 'aria-current': 'true' }, s.toUpperCase())
				: h('a', { href: `#/merchant/${store.id}/poster?size=${s}`, id: `size-${s}` }, s.toUpperCase())).flatMap((x, i) => (i ? [' · ', x] : [x])))]),
		h('article', { class: `poster print-${size}`, id: 'poster', 'data-size': size },
			h('p', { class: 'poster-brand' }, 'QRIS'),
			h('h1', { class: 'poster-store' }, store.name),
			h('p', { class: 'poster-city' }, store.city),
			box,
			h('p', { class: 'poster-nmid' }, 'NMID: ', h('span', { id: 'poster-nmid' }, store.nmid ?? '')),
			h('p', { class: 'poster-call' }, t('poster.call')),
			h('p', { class: 'poster-foot' }, t('poster.foot'))),
	];
}
