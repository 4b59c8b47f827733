// A payable account's statement (a store's or a courier's, docs/api.md
// "Payouts and statements") in whole rupiah, without the DOM: what each entry
// did to the two running figures (BigInt, so no amount can lose a rupiah),
// and the period a person picks in WIB dates as the API takes it. The
// period's opening and closing figures are the server's.

// What an entry did to {balance, available} (BigInt each). A pending payout
// ("held") takes only from what is available; its post takes the balance
// (the hold already took the rest); a void or an expiry gives back what the
// hold took. Throws RangeError on an entry the statement cannot hold.
export function effect(entry) {
	if (!Number.isSafeInteger(entry?.amount) || entry.amount < 0) throw new RangeError(`not an amount: ${entry?.amount}`);
	let sign;
	if (entry.direction === 'credit') sign = 1n;
	else if (entry.direction === 'debit') sign = -1n;
	else throw new RangeError(`not a direction: ${entry.direction}`);
	const amount = sign * BigInt(entry.amount);
	switch (entry.kind) {
	case 'transfer': return { balance: amount, available: amount };
	case 'held': return { balance: 0n, available: amount };
	case 'posted': return { balance: amount, available: 0n };
	case 'voided':
	case 'expired': return { balance: 0n, available: -amount };
	default: throw new RangeError(`not a kind: ${entry.kind}`);
	}
}

// The statement's period for the API from the dates a person picked
// ('YYYY-MM-DD', WIB, '' for open): from the start of `from` to the end of
// `to`, both days included. The API reads a date as midnight WIB and `to` as
// the end before it, so `to` goes as the day after. Throws RangeError on a
// date that is not one (2026-02-30).
export function statementPeriod(from, to) {
	if (from) checkedDate(from);
	return { from: from || undefined, to: to ? dayAfter(to) : undefined };
}

function checkedDate(date) {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
	const at = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
	if (!at || at.toISOString().slice(0, 10) !== date) throw new RangeError(`not a date: ${date}`);
	return at;
}

function dayAfter(date) {
	const at = checkedDate(date);
	at.setUTCDate(at.getUTCDate() + 1);
	return at.toISOString().slice(0, 10);
}

// Checks a payout amount a person typed (digits from format.js's parseRupiah,
// or null) against what is available. Returns null when it may be asked for,
// else the reason: 'bad' (not a whole amount of at least Rp1) or 'over'.
// The server's minimum (payout.min_amount) is its to say: 422 below_minimum.
export const PAYOUT_MAX = 1000000000;
export function payoutProblem(digits, available) {
	if (digits === null || digits === undefined) return 'bad';
	const amount = BigInt(digits);
	if (amount < 1n || amount > BigInt(PAYOUT_MAX)) return 'bad';
	return amount > BigInt(available) ? 'over' : null;
}

// True when a payout of the list still waits for the provider (one at a time: 409 payout_open).
export const payoutOpen = (payouts) => payouts.some((p) => p.status === 'processing');
