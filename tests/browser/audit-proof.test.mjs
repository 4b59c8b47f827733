// Unit tests of web/js/proof.js's checkpoint checks (node --test): the
// consistency proof (RFC 9162 §2.1.4.2) against docs/audit.md's worked
// example and against proofs of every pair of sizes of trees built here from
// the RFC's definitions; a whole checkpoint against docs/audit.md's example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hexToBytes, verifyConsistency, verifyCheckpoint } from '../../web/js/proof.js';

const sha = (...parts) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest());
// RFC 9162 §2.1.1 MTH and §2.1.4.1 SUBPROOF, written plainly from the definitions.
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
function mth(leaves) {
	if (leaves.length === 0) return sha();
	if (leaves.length === 1) return leaves[0];
	const k = split(leaves.length);
	return sha([1], mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function subproof(m, leaves, whole) {
	const n = leaves.length;
	if (m === n) return whole ? [] : [mth(leaves)];
	const k = split(n);
	return m <= k ? [...subproof(m, leaves.slice(0, k), whole), mth(leaves.slice(k))]
		: [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
const consistencyProof = (m, leaves) => (m === 0 || m === leaves.length ? [] : subproof(m, leaves, true));

// docs/audit.md, "Worked example (3 leaves)".
const LEAF2 = hexToBytes('0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7');
const ROOT2 = hexToBytes('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
const ROOT3 = hexToBytes('aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77');

test('the worked example: 2 → 3 is consistent with [leaf 2], and only with it', async () => {
	assert.equal(await verifyConsistency(2, 3, ROOT2, ROOT3, [LEAF2]), true);
	assert.equal(await verifyConsistency(2, 3, ROOT3, ROOT3, [LEAF2]), false, 'a wrong old root');
	assert.equal(await verifyConsistency(2, 3, ROOT2, ROOT2, [LEAF2]), false, 'a wrong new root');
	assert.equal(await verifyConsistency(2, 3, ROOT2, ROOT3, []), false, 'no proof');
	assert.equal(await verifyConsistency(2, 3, ROOT2, ROOT3, [LEAF2, LEAF2]), false, 'an element too many');
	assert.equal(await verifyConsistency(3, 2, ROOT3, ROOT2, [LEAF2]), false, 'a tree that shrank');
	assert.equal(await verifyConsistency(3, 3, ROOT3, ROOT3, []), true, 'the same tree');
	assert.equal(await verifyConsistency(3, 3, ROOT3, ROOT2, []), false, 'the same size, another root');
	assert.equal(await verifyConsistency(0, 3, sha(), ROOT3, []), true, 'from the empty tree');
	assert.equal(await verifyConsistency(0, 3, ROOT2, ROOT3, []), false, 'the empty tree has the empty root');
});

test('every pair of sizes of trees of up to 17 leaves is consistent, and a changed proof is not', async () => {
	const leaves = Array.from({ length: 17 }, (_, i) => sha([0], [i]));
	for (let n = 1; n <= 17; n++) {
		const newRoot = mth(leaves.slice(0, n));
		for (let m = 0; m <= n; m++) {
			const oldRoot = mth(leaves.slice(0, m));
			const proof = consistencyProof(m, leaves.slice(0, n));
			assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, proof), true, `${m} → ${n}`);
			if (!proof.length) continue;
			for (let i = 0; i < proof.length; i++) {
				const changed = proof.map((p) => p.slice());
				changed[i][31] ^= 1;
				assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, changed), false, `${m} → ${n}, element ${i} changed`);
			}
			assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1)), false, `${m} → ${n}, short`);
			assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, [...proof, newRoot]), false, `${m} → ${n}, long`);
			if (n < 17) {
				// The same proof does not bind the old tree to a tree of another size.
				assert.equal(await verifyConsistency(m, n + 1, oldRoot, mth(leaves.slice(0, n + 1)), proof), false, `${m} → ${n + 1} with ${m} → ${n}'s proof`);
			}
		}
	}
});

// The checkpoint of docs/audit.md, "Worked example", as the API gives it.
const CHECKPOINT = {
	number: 1, tree_size: 7, root: '202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f', time: 1767225600000,
	signed: 'YmFuZ3NvbGVoLnBheWFrdW1idWgvbGVkZ2VyCjcKSUNFaUl5UWxKaWNvS1NvckxDMHVMekF4TWpNME5UWTNPRGs2T3p3OVBqOD0KdGltZSAxNzY3MjI1NjAwMDAwCg==',
	signature: 'KG+Y7U9LYghSr4fRbH9q2CuwFHWvkVeK4TLNt3pO+nYrjINi7nAvLf+q3g7JsrdiLpQ/BcwPKrxvVn9gNpktDw==',
	public_key: '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
};

test('a checkpoint verifies only when its fields are its signed text\'s and the signature holds', async () => {
	assert.deepEqual(await verifyCheckpoint(CHECKPOINT), { text: true, signature: true, verified: true });
	let r = await verifyCheckpoint({ ...CHECKPOINT, tree_size: 8 });
	assert.equal(r.verified, false, 'a size the text does not name');
	assert.equal(r.signature, true);
	r = await verifyCheckpoint({ ...CHECKPOINT, time: CHECKPOINT.time + 1 });
	assert.equal(r.verified, false, 'a time the text does not name');
	r = await verifyCheckpoint({ ...CHECKPOINT, signature: `A${CHECKPOINT.signature.slice(1)}` });
	assert.deepEqual([r.text, r.signature, r.verified], [true, false, false], 'another signature');
	r = await verifyCheckpoint({ ...CHECKPOINT, public_key: 'zz' });
	assert.equal(r.verified, false);
	assert.match(r.error, /hex/);
});
