// Checking a payment's receipt in the browser, trusting nothing but WebCrypto
// (docs/audit.md, "Receipts"): each entry's canonical bytes (docs/ledger.md,
// "Canonical bytes") are decoded and compared with the fields shown beside
// them and with the payment; the leaf hash SHA-256(0x00 ‖ canonical) is
// recomputed; the inclusion proof is walked to a root (RFC 9162 §2.1.3.2);
// the checkpoint's signed text must name that tree size and root, and its
// Ed25519 signature must verify under the public key. No DOM: node tests it.

const CANONICAL_SIZE = 169;
const ORIGIN = 'bangsoleh.payakumbuh/ledger';

export function hexToBytes(hex) {
	if (typeof hex !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error('not lowercase hex');
	const out = new Uint8Array(hex.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
	return out;
}

export function bytesToHex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function base64ToBytes(text) {
	if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) throw new Error('not base64');
	return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function subtle() {
	const s = globalThis.crypto?.subtle;
	if (!s) throw new Error('WebCrypto is not available here (it needs HTTPS or this device\'s own address)');
	return s;
}

async function sha256(...parts) {
	const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const p of parts) {
		all.set(p, at);
		at += p.length;
	}
	return new Uint8Array(await subtle().digest('SHA-256', all));
}

export const leafHash = (canonical) => sha256(Uint8Array.of(0), canonical);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// The fields of an entry's 169 canonical bytes that a receipt shows: seq and
// amount as BigInt, ids as hex. Throws unless the layout is exactly the
// documented one (header, version 1, every tag).
export function decodeCanonical(bytes) {
	if (bytes.length !== CANONICAL_SIZE) throw new Error(`canonical bytes are ${bytes.length} long, not ${CANONICAL_SIZE}`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const expectTag = (offset, tag) => {
		for (let i = 0; i < tag.length; i++)
			if (bytes[offset + i] !== tag[i]) throw new Error(`unexpected byte at offset ${offset + i}`);
	};
	expectTag(0, [0xdc, 0x00, 0x11, 0x01]);
	const u64 = (offset) => { expectTag(offset, [0xcf]); return view.getBigUint64(offset + 1); };
	const id = (offset) => { expectTag(offset, [0xc4, 0x10]); return bytesToHex(bytes.subarray(offset + 2, offset + 18)); };
	for (const [offset, tag] of [[130, 0xce], [135, 0xce], [140, 0xce], [145, 0xcd], [148, 0xcd]]) expectTag(offset, [tag]);
	const entry = {
		seq: u64(4), timestamp: u64(13), id: id(22), debit_account_id: id(40), credit_account_id: id(58),
		amount: u64(76), pending_id: id(85), user_data_128: id(103), user_data_64: u64(121),
		debit_prev_seq: u64(151), credit_prev_seq: u64(160),
	};
	if (entry.amount > 0x7fffffffffffffffn) throw new Error('amount does not fit an int64');
	return entry;
}

// The root an inclusion proof leads to from leaf at index in a tree of size
// leaves (RFC 9162 §2.1.3.2), or null when the proof cannot belong to such a
// tree (index out of range, too many or too few hashes).
export async function rootFromInclusion(index, size, leaf, proof) {
	let fn = BigInt(index);
	let sn = BigInt(size) - 1n;
	if (fn > sn) return null;
	let r = leaf;
	for (const p of proof) {
		if (sn === 0n) return null;
		if ((fn & 1n) === 1n || fn === sn) {
			r = await nodeHash(p, r);
			while ((fn & 1n) === 0n && fn !== 0n) {
				fn >>= 1n;
				sn >>= 1n;
			}
		} else {
			r = await nodeHash(r, p);
		}
		fn >>= 1n;
		sn >>= 1n;
	}
	return sn === 0n ? r : null;
}

// The four lines of the signed checkpoint text (docs/audit.md, "Signed text"),
// or throws when the text is not exactly that.
export function parseCheckpointText(bytes) {
	const text = new TextDecoder('ascii').decode(bytes);
	const m = /^([^\n]+)\n(0|[1-9]\d*)\n([A-Za-z0-9+/]{43}=)\ntime (0|[1-9]\d*)\n$/.exec(text);
	if (!m) throw new Error('the signed text is not a checkpoint');
	return { origin: m[1], treeSize: BigInt(m[2]), root: bytesToHex(base64ToBytes(m[3])), time: BigInt(m[4]) };
}

// Ed25519 over message under a raw 32-byte public key: true, false, or null
// when this browser's WebCrypto has no Ed25519.
export async function verifyEd25519(publicKey, signature, message) {
	let key;
	try {
		key = await subtle().importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
	} catch (err) {
		if (err.name === 'NotSupportedError') return null;
		throw err;
	}
	return subtle().verify({ name: 'Ed25519' }, key, signature, message);
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Checks a receipt (the answer of GET /api/v1/payments/{id}/receipt).
// Resolves to {verified, signature: true|false|null, checks: [{key, ok, params}]}:
// `verified` only when every check passed and the signature verified
// (null: not checkable in this browser, so not verified).
export async function verifyReceipt(receipt) {
	const checks = [];
	const check = (key, ok, params = {}) => { checks.push({ key, ok: Boolean(ok), params }); return Boolean(ok); };
	const cp = receipt.checkpoint ?? {};
	let signed = null;
	let signature = null;
	try {
		signed = parseCheckpointText(base64ToBytes(cp.signed));
		check('proof.check.text', signed.origin === ORIGIN && signed.treeSize === BigInt(cp.tree_size) && signed.root === cp.root,
			{ size: cp.tree_size });
		signature = await verifyEd25519(hexToBytes(cp.public_key), base64ToBytes(cp.signature), base64ToBytes(cp.signed));
		if (signature !== null) check('proof.check.signature', signature);
	} catch (err) {
		check('proof.check.text', false, { size: cp.tree_size, error: err.message });
	}
	const entries = receipt.entries ?? [];
	check('proof.check.entries', entries.length > 0, { count: entries.length });
	for (const e of entries) {
		const params = { seq: e.seq };
		try {
			const canonical = base64ToBytes(e.canonical);
			const d = decodeCanonical(canonical);
			check('proof.check.fields', d.seq === BigInt(e.seq) && d.id === e.id && d.amount === BigInt(e.amount) &&
				d.debit_account_id === e.debit_account_id && d.credit_account_id === e.credit_account_id &&
				d.user_data_128 === e.user_data_128 && e.leaf_index === e.seq - 1, params);
			check('proof.check.payment', d.user_data_128 === receipt.id, params);
			const leaf = await leafHash(canonical);
			check('proof.check.leaf', bytesToHex(leaf) === e.leaf_hash, params);
			const root = await rootFromInclusion(e.leaf_index, cp.tree_size, leaf, e.inclusion_proof.map(hexToBytes));
			check('proof.check.inclusion', root !== null && signed !== null && same(root, hexToBytes(signed.root)), params);
		} catch (err) {
			check('proof.check.fields', false, { ...params, error: err.message });
		}
	}
	return { verified: signature === true && checks.every((c) => c.ok), signature, checks };
}

// Consistency of a tree of oldSize leaves with root oldRoot and a tree of
// newSize leaves with root newRoot (Uint8Arrays), given the proof's hashes
// (RFC 9162 §2.1.4.2 as docs/audit.md, "Verifying", states it, with its rule
// for size 0: the empty root). Resolves to true or false; every element of
// the proof must be used.
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
	const m = BigInt(oldSize);
	const n = BigInt(newSize);
	if (n < m) return false;
	if (m === n) return proof.length === 0 && same(oldRoot, newRoot);
	if (m === 0n) return proof.length === 0 && same(oldRoot, await sha256());
	if (proof.length === 0) return false;
	let fn = m - 1n;
	let sn = n - 1n;
	while ((fn & 1n) === 1n) {
		fn >>= 1n;
		sn >>= 1n;
	}
	const powerOfTwo = (m & (m - 1n)) === 0n;
	let fr = powerOfTwo ? oldRoot : proof[0];
	let sr = fr;
	for (const c of powerOfTwo ? proof : proof.slice(1)) {
		if (sn === 0n) return false;
		if ((fn & 1n) === 1n || fn === sn) {
			fr = await nodeHash(c, fr);
			sr = await nodeHash(c, sr);
			while ((fn & 1n) === 0n && fn !== 0n) {
				fn >>= 1n;
				sn >>= 1n;
			}
		} else {
			sr = await nodeHash(sr, c);
		}
		fn >>= 1n;
		sn >>= 1n;
	}
	return sn === 0n && same(fr, oldRoot) && same(sr, newRoot);
}

// Checks a checkpoint object of the API on its own: its signed text names its
// origin, tree size and root, and its Ed25519 signature verifies under its
// public_key. Resolves to {text: bool, signature: true|false|null (no Ed25519
// here), verified, error?}.
export async function verifyCheckpoint(cp) {
	try {
		const signed = parseCheckpointText(base64ToBytes(cp.signed));
		const text = signed.origin === ORIGIN && signed.treeSize === BigInt(cp.tree_size) && signed.root === cp.root &&
			signed.time === BigInt(cp.time);
		const signature = await verifyEd25519(hexToBytes(cp.public_key), base64ToBytes(cp.signature), base64ToBytes(cp.signed));
		return { text, signature, verified: text && signature === true };
	} catch (err) {
		return { text: false, signature: false, verified: false, error: err.message };
	}
}
