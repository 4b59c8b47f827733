// Unit tests of web/js/proof.js (node --test): the receipt checks against the
// worked examples of docs/ledger.md and docs/audit.md, and RFC 9162
// inclusion proofs of every leaf of small trees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
	hexToBytes, bytesToHex, base64ToBytes, decodeCanonical, leafHash, rootFromInclusion, parseCheckpointText,
	verifyEd25519, verifyReceipt,
} from '../../web/js/proof.js';

// canonical(1) of docs/ledger.md, "The chain".
const CANONICAL_1 = hexToBytes(['dc0011 01 cf0000000000000001 cf18ebe51f86778001',
	'c410 00000000000000000000000000001001 c410 00000000000000000000000000000300',
	'c410 00000000000000000000000000000100 cf00000000000249f0',
	'c410 00000000000000000000000000000000 c410 0000000000000000000000000000002a',
	'cf0000000000000007 ce00000000 ce00000000 ce00000168 cd0001 cd0000 cf0000000000000000 cf0000000000000000'].join('').replace(/ /g, ''));

// The checkpoint of docs/audit.md, "Worked example".
const EXAMPLE = {
	publicKey: '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
	signed: 'YmFuZ3NvbGVoLnBheWFrdW1idWgvbGVkZ2VyCjcKSUNFaUl5UWxKaWNvS1NvckxDMHVMekF4TWpNME5UWTNPRGs2T3p3OVBqOD0KdGltZSAxNzY3MjI1NjAwMDAwCg==',
	signature: 'KG+Y7U9LYghSr4fRbH9q2CuwFHWvkVeK4TLNt3pO+nYrjINi7nAvLf+q3g7JsrdiLpQ/BcwPKrxvVn9gNpktDw==',
};

const sha = (...parts) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest());
const leaf = (i) => sha([0], [i]);
// RFC 9162 §2.1.1 MTH and §2.1.3.1 PATH, written plainly from the definitions.
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
function mth(leaves) {
	if (leaves.length === 1) return leaves[0];
	const k = split(leaves.length);
	return sha([1], mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m, leaves) {
	if (leaves.length === 1) return [];
	const k = split(leaves.length);
	return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

test('canonical bytes decode to the example entry; the leaf hash is the documented one', async () => {
	const e = decodeCanonical(CANONICAL_1);
	assert.equal(e.seq, 1n);
	assert.equal(e.amount, 150000n);
	assert.equal(e.user_data_128, '0000000000000000000000000000002a');
	assert.equal(e.debit_account_id, '00000000000000000000000000000300');
	assert.equal(bytesToHex(await leafHash(CANONICAL_1)), '465cee660064673a94115a225388b537e96605cc8e8855e0221984d2aced83ad');
	const bad = CANONICAL_1.slice();
	bad[76] = 0xce;
	assert.throws(() => decodeCanonical(bad), /offset 76/);
	assert.throws(() => decodeCanonical(CANONICAL_1.subarray(1)), /168 long/);
});

test('every leaf of trees of 1 to 17 leaves proves its way to the root, and nothing else does', async () => {
	for (let n = 1; n <= 17; n++) {
		const leaves = Array.from({ length: n }, (_, i) => leaf(i));
		const root = mth(leaves);
		for (let m = 0; m < n; m++) {
			const proof = path(m, leaves);
			assert.deepEqual(await rootFromInclusion(m, n, leaves[m], proof), root, `leaf ${m} of ${n}`);
			if (proof.length) {
				const flipped = proof.map((p) => p.slice());
				flipped[0][0] ^= 1;
				assert.notDeepEqual(await rootFromInclusion(m, n, leaves[m], flipped), root);
				assert.equal(await rootFromInclusion(m, n, leaves[m], proof.slice(1)), null, 'a short proof');
			}
			assert.equal(await rootFromInclusion(m, n, leaves[m], [...proof, root]), null, 'a long proof');
		}
		assert.equal(await rootFromInclusion(n, n, leaves[0], []), null, 'an index past the tree');
	}
});

test('the checkpoint example: its text parses, its signature verifies (Ed25519), a changed byte does not', async () => {
	const text = parseCheckpointText(base64ToBytes(EXAMPLE.signed));
	assert.equal(text.origin, 'bangsoleh.payakumbuh/ledger');
	assert.equal(text.treeSize, 7n);
	assert.equal(text.root, bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i)));
	const key = hexToBytes(EXAMPLE.publicKey);
	assert.equal(await verifyEd25519(key, base64ToBytes(EXAMPLE.signature), base64ToBytes(EXAMPLE.signed)), true);
	const changed = base64ToBytes(EXAMPLE.signed);
	changed[30] ^= 1;
	assert.equal(await verifyEd25519(key, base64ToBytes(EXAMPLE.signature), changed), false);
	assert.throws(() => parseCheckpointText(new TextEncoder().encode('bangsoleh.payakumbuh/ledger\n07\nx\ntime 1\n')), /not a checkpoint/);
});

test('a receipt is verified only when every check passes', async () => {
	// A one-entry tree needs no proof; the checkpoint is not signed by the example key, so it fails.
	const leafHex = bytesToHex(await leafHash(CANONICAL_1));
	const entry = { seq: 1, leaf_index: 0, id: '00000000000000000000000000001001', amount: 150000,
		debit_account_id: '00000000000000000000000000000300', credit_account_id: '00000000000000000000000000000100',
		user_data_128: '0000000000000000000000000000002a', canonical: btoa(String.fromCharCode(...CANONICAL_1)),
		leaf_hash: leafHex, inclusion_proof: [] };
	const signedText = `bangsoleh.payakumbuh/ledger\n1\n${btoa(String.fromCharCode(...hexToBytes(leafHex)))}\ntime 1\n`;
	const receipt = { id: '0000000000000000000000000000002a', entries: [entry], checkpoint: {
		tree_size: 1, root: leafHex, signed: btoa(signedText), signature: EXAMPLE.signature, public_key: EXAMPLE.publicKey } };
	let result = await verifyReceipt(receipt);
	assert.equal(result.verified, false);
	assert.equal(result.signature, false);
	assert.deepEqual(result.checks.filter((c) => !c.ok).map((c) => c.key), ['proof.check.signature']);
	result = await verifyReceipt({ ...receipt, entries: [{ ...entry, amount: 150001 }] });
	assert.ok(result.checks.some((c) => c.key === 'proof.check.fields' && !c.ok), 'an amount that is not the canonical one');
	result = await verifyReceipt({ ...receipt, id: '0000000000000000000000000000002b' });
	assert.ok(result.checks.some((c) => c.key === 'proof.check.payment' && !c.ok), 'an entry of another payment');
});
