// The signed checkpoints, each checked in this browser (proof.js): its text
// and Ed25519 signature under the server's public key, and for each pair of
// consecutive checkpoints the consistency proof that the newer tree extends
// the older one (RFC 9162 §2.1.4.2). The newest 20 are shown.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get, ApiError } from '../api.js';
import { formatTime } from '../time.js';
import { verifyCheckpoint, verifyConsistency, hexToBytes } from '../proof.js';
import { auditNav, needRole, screen } from './audit-common.js';

const SHOWN = 20;

function verdict(state, id, text) {
	const cls = state === 'verified' ? 'verdict-verified' : state === 'failed' ? 'verdict-failed' : '';
	return h('p', { class: `verdict ${cls}`, id, 'data-verdict': state }, text);
}

// 'verified', 'failed' or 'unsupported' (no Ed25519 in this browser) for a checkpoint.
async function checkpointState(cp, key) {
	const result = await verifyCheckpoint(cp);
	if (result.signature === null) return 'unsupported';
	return result.verified && cp.public_key === key ? 'verified' : 'failed';
}

async function consistencyState(older, newer) {
	const proof = await get('/api/v1/audit/proofs/consistency', { from: older.tree_size, to: newer.tree_size });
	const ok = await verifyConsistency(older.tree_size, newer.tree_size, hexToBytes(older.root), hexToBytes(newer.root), proof.proof.map(hexToBytes));
	return { ok, hashes: proof.proof.length };
}

// A checkpoint with its verdict, as a list item or (tag 'div') on its own.
function checkpointItem(cp, state, tag = 'li') {
	return h(tag, { class: 'checkpoint panel', 'data-number': cp.number, 'data-verdict': state },
		h('p', {}, h('strong', {}, t('audit.checkpoint.number', { number: cp.number })), ' ',
			h('span', { class: state === 'verified' ? 'ok' : 'bad' }, t(`audit.checkpoint.${state}`))),
		h('p', { class: 'small' }, t('audit.checkpoint.size', { size: cp.tree_size }), ' · ', h('time', {}, formatTime(cp.time))),
		h('p', { class: 'mono small' }, cp.root));
}

export async function render() {
	const denied = needRole(['auditor', 'admin']);
	if (denied) return denied;
	let latest;
	try {
		latest = await get('/api/v1/audit/checkpoints/latest');
	} catch (err) {
		if (!(err instanceof ApiError && err.status === 404)) throw err;
		return [h('h1', {}, t('audit.checkpoints.heading')), auditNav('checkpoints'), h('p', { class: 'empty' }, t('audit.checkpoints.none'))];
	}
	const [key, list] = await Promise.all([get('/api/v1/audit/public-key'),
		get('/api/v1/audit/checkpoints', { from: Math.max(1, latest.number - SHOWN + 1), limit: SHOWN })]);
	const checkpoints = list.checkpoints;
	const states = await Promise.all(checkpoints.map((cp) => checkpointState(cp, key.public_key)));
	const pairs = await Promise.all(checkpoints.slice(1).map((cp, i) => consistencyState(checkpoints[i], cp)));
	const latestState = await checkpointState(latest, key.public_key);
	const allConsistent = pairs.every((p) => p.ok);
	return screen(
		h('h1', {}, t('audit.checkpoints.heading')),
		auditNav('checkpoints'),
		h('h2', {}, t('audit.checkpoints.latest')),
		verdict(latestState, 'latest-checkpoint', t(`audit.checkpoint.${latestState}`)),
		checkpointItem(latest, latestState, 'div'),
		h('p', {}, t('audit.checkpoints.key'), ' ', h('span', { class: 'mono', id: 'public-key' }, key.public_key)),
		h('p', { class: 'muted small' }, t('audit.checkpoints.key_hint')),
		h('h2', {}, t('audit.checkpoints.consistency')),
		pairs.length
			? verdict(allConsistent ? 'verified' : 'failed', 'consistency', t(allConsistent ? 'audit.consistency.all' : 'audit.consistency.broken', { count: pairs.length }))
			: h('p', { class: 'empty', id: 'consistency-none' }, t('audit.consistency.none')),
		pairs.length ? h('ul', { class: 'consistency-list' }, pairs.map((p, i) => h('li', { 'data-consistent': String(p.ok),
			class: p.ok ? 'ok' : 'bad' }, t(p.ok ? 'audit.consistency.ok' : 'audit.consistency.bad', {
			from: checkpoints[i].number, to: checkpoints[i + 1].number, a: checkpoints[i].tree_size, b: checkpoints[i + 1].tree_size, hashes: p.hashes,
		})))) : null,
		h('h2', {}, t('audit.checkpoints.list')),
		h('ol', { class: 'checkpoints', reversed: true }, checkpoints.map((cp, i) => checkpointItem(cp, states[i])).reverse()),
	);
}
