// Unit tests of web/js/money.js (node --test): a payable account's statement
// figures, and the checks of a payout request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effect, pageFigures, payoutProblem, payoutOpen, PAYOUT_MAX } from '../../web/js/money.js';

// docs/api.md's example of a store's statement, with the two entries before it.
const entries = [
	{ seq: 7, reason: 'payout', kind: 'posted', direction: 'debit', amount: 150000, balance: 50000, available: 50000 },
	{ seq: 6, reason: 'payout', kind: 'held', direction: 'debit', amount: 150000, balance: 200000, available: 50000 },
	{ seq: 4, reason: 'release', kind: 'transfer', direction: 'credit', amount: 120000, balance: 200000, available: 200000 },
	{ seq: 2, reason: 'release', kind: 'transfer', direction: 'credit', amount: 80000, balance: 80000, available: 80000 },
];

test('each kind of entry moves the balance and the available money as the ledger does', () => {
	assert.deepEqual(effect({ kind: 'transfer', direction: 'credit', amount: 12000 }), { balance: 12000n, available: 12000n });
	assert.deepEqual(effect({ kind: 'transfer', direction: 'debit', amount: 500 }), { balance: -500n, available: -500n });
	assert.deepEqual(effect({ kind: 'held', direction: 'debit', amount: 150000 }), { balance: 0n, available: -150000n });
	assert.deepEqual(effect({ kind: 'posted', direction: 'debit', amount: 150000 }), { balance: -150000n, available: 0n });
	assert.deepEqual(effect({ kind: 'voided', direction: 'debit', amount: 150000 }), { balance: 0n, available: 150000n });
	assert.deepEqual(effect({ kind: 'expired', direction: 'debit', amount: 7 }), { balance: 0n, available: 7n });
});

test('an entry the statement cannot hold is refused, not guessed', () => {
	assert.throws(() => effect({ kind: 'transfer', direction: 'sideways', amount: 1 }), RangeError);
	assert.throws(() => effect({ kind: 'refund', direction: 'debit', amount: 1 }), RangeError);
	assert.throws(() => effect({ kind: 'transfer', direction: 'debit', amount: 1.5 }), RangeError);
	assert.throws(() => effect({ kind: 'transfer', direction: 'debit', amount: -1 }), RangeError);
	assert.throws(() => effect({ kind: 'transfer', direction: 'debit', amount: 2 ** 53 }), RangeError);
});

test('a page opens at the figures before its oldest entry and closes at its newest', () => {
	assert.deepEqual(pageFigures(entries), { opening: { balance: 0n, available: 0n }, closing: { balance: 50000n, available: 50000n } });
	assert.deepEqual(pageFigures(entries.slice(0, 2)),
		{ opening: { balance: 200000n, available: 200000n }, closing: { balance: 50000n, available: 50000n } });
	assert.equal(pageFigures([]), null);
});

test('a statement whose running figures do not add up is refused', () => {
	const wrong = entries.map((e) => ({ ...e }));
	wrong[1].balance = 199999;
	assert.throws(() => pageFigures(wrong), /entry 6 does not add up/);
});

test('sums beyond 2^53 stay exact', () => {
	const big = Number.MAX_SAFE_INTEGER;
	const page = [
		{ seq: 2, kind: 'transfer', direction: 'credit', amount: 10, balance: big, available: big },
		{ seq: 1, kind: 'transfer', direction: 'credit', amount: big - 10, balance: big - 10, available: big - 10 },
	];
	assert.deepEqual(pageFigures(page).opening, { balance: 0n, available: 0n });
});

test('a payout must be a whole amount of at least Rp1, within what is available', () => {
	assert.equal(payoutProblem('15000', 15000), null);
	assert.equal(payoutProblem('15001', 15000), 'over');
	assert.equal(payoutProblem('0', 15000), 'bad');
	assert.equal(payoutProblem(null, 15000), 'bad');
	assert.equal(payoutProblem(String(PAYOUT_MAX + 1), Number.MAX_SAFE_INTEGER), 'bad');
	assert.equal(payoutProblem('1', 0), 'over');
});

test('a payout still processing blocks the next', () => {
	assert.equal(payoutOpen([{ status: 'completed' }, { status: 'failed' }]), false);
	assert.equal(payoutOpen([{ status: 'completed' }, { status: 'processing' }]), true);
	assert.equal(payoutOpen([]), false);
});
