// Unit tests of web/js/money.js (node --test): what a statement's entries do
// to the figures, the period picked in dates, and the checks of a payout request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effect, statementPeriod, payoutProblem, payoutOpen, PAYOUT_MAX } from '../../web/js/money.js';

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

test('amounts beyond 2^53 stay exact', () => {
	const big = Number.MAX_SAFE_INTEGER;
	assert.deepEqual(effect({ kind: 'posted', direction: 'debit', amount: big }), { balance: -BigInt(big), available: 0n });
});

test('the period picked in WIB dates includes both days: to goes as the day after', () => {
	assert.deepEqual(statementPeriod('2026-11-01', '2026-11-30'), { from: '2026-11-01', to: '2026-12-01' });
	assert.deepEqual(statementPeriod('', '2026-12-31'), { from: undefined, to: '2027-01-01' });
	assert.deepEqual(statementPeriod('2026-11-28', ''), { from: '2026-11-28', to: undefined });
	assert.deepEqual(statementPeriod('', ''), { from: undefined, to: undefined });
	assert.deepEqual(statementPeriod('2028-02-28', '2028-02-28'), { from: '2028-02-28', to: '2028-02-29' });
});

test('a date that is not one is refused, not rolled over', () => {
	assert.throws(() => statementPeriod('2026-02-30', ''), RangeError);
	assert.throws(() => statementPeriod('', '2026-13-01'), RangeError);
	assert.throws(() => statementPeriod('28-11-2026', ''), RangeError);
	assert.throws(() => statementPeriod('', '2026-11-28T10:00'), RangeError);
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
