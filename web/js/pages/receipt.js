// A payment's receipt with its ledger proof, checked here in the browser
// (proof.js): "verified" is shown only when every check passed, the
// checkpoint's Ed25519 signature included.
import { h, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { get, ApiError } from '../api.js';
import { formatRupiah } from '../format.js';
import { formatTime } from '../time.js';
import { navigate, onLeave } from '../router.js';
import { verifyReceipt } from '../proof.js';

const short = (hex) => `${hex.slice(0, 16)}…`;

export async function render({ id }) {
	const heading = h('h1', {}, t('receipt.heading'));
	let receipt;
	try {
		receipt = await get(`/api/v1/payments/${encodeURIComponent(id)}/receipt`);
	} catch (err) {
		if (!(err instanceof ApiError) || err.code !== 'not_yet_signed') throw err;
		// Paid, not yet under a signed checkpoint: look again when the server says it will be.
		const hash = location.hash;
		const timer = setTimeout(() => { if (location.hash === hash) navigate(hash); },
			Math.min(60, Math.max(1, err.retryAfter ?? 5)) * 1000);
		onLeave(() => clearTimeout(timer));
		return [heading, h('p', { class: 'note', id: 'receipt-wait' }, t('receipt.not_yet_signed'))];
	}
	let result;
	try {
		result = await verifyReceipt(receipt);
	} catch (err) {
		result = { verified: false, signature: null, checks: [], error: err };
	}
	const cp = receipt.checkpoint;
	const verdict = result.verified ? 'verified' : result.checks.some((c) => !c.ok) || result.error ? 'failed' : 'unchecked';
	return [heading, h('article', { class: 'receipt', 'data-payment-id': receipt.id },
		h('dl', { class: 'totals' },
			h('dt', {}, t('receipt.payment')), h('dd', { class: 'mono' }, receipt.id),
			h('dt', {}, t('receipt.amount')), h('dd', { class: 'price' }, formatRupiah(receipt.paid_amount)),
			h('dt', {}, t('receipt.status')), h('dd', {}, t(`pay.status.${receipt.status}`)),
			h('dt', {}, t('receipt.time')), h('dd', {}, formatTime(receipt.updated_at))),
		h('p', { class: `verdict verdict-${verdict}`, id: 'verdict', 'data-verdict': verdict, role: 'status' }, t(`receipt.verdict.${verdict}`)),
		result.error ? errorBox(result.error) : null,
		h('h2', {}, t('receipt.checks')),
		h('ul', { class: 'checks' }, result.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad', 'data-check': c.key },
			`${c.ok ? '✓' : '✗'} `, t(c.key, c.params), c.params.error ? ` (${c.params.error})` : ''))),
		result.signature === null && !result.error ? h('p', { class: 'note' }, t('receipt.no_ed25519')) : null,
		h('h2', {}, t('receipt.entries')),
		h('ul', { class: 'entries' }, receipt.entries.map((e) => h('li', { 'data-seq': e.seq },
			t('receipt.entry', { seq: e.seq, reason: t(`receipt.reason.${e.reason}`), amount: formatRupiah(e.amount) }),
			h('br'), h('small', { class: 'mono' }, t('receipt.leaf', { hash: short(e.leaf_hash), steps: e.inclusion_proof.length }))))),
		h('h2', {}, t('receipt.checkpoint')),
		h('p', {}, t('receipt.checkpoint_text', { number: cp.number, size: cp.tree_size, time: formatTime(cp.time) })),
		h('p', { class: 'mono small' }, t('receipt.root', { root: cp.root })),
		h('p', { class: 'mono small', id: 'public-key' }, t('receipt.key', { key: cp.public_key })),
		h('p', { class: 'hint' }, t('receipt.key_hint')))];
}
