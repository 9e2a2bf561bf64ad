/**
 * What counts as a payment: the one rule deciding which outputs to a registered address the monitor records,
 * confirms and credits. The engine records only the outputs the policy accepts (payment-engine.ts), and
 * reconciliation expects in the database only those (reconciliation/classification.ts): an output the policy
 * ignores is never reported as missing_in_db.
 *
 * To change what counts as a payment, change PAYMENT_POLICY below; both follow. For example, to ignore payments
 * below 1 ADA:
 *
 *   export const PAYMENT_POLICY: PaymentPolicy = paymentsOfAtLeast(1n * LOVELACE_PER_ADA);
 *
 * A new policy applies to the blocks applied from then on; payments recorded before stay as they are. A rebuild
 * re-derives from the chain with the policy of the day, so it reverses earlier payments that policy now ignores.
 */
import type { TransactionOutput } from './chain.js';

/**
 * Whether an output to a registered address (where it goes, its lovelace and tokens) is a payment to record.
 * Pure: the same output always gets the same answer, so the engine may ask before it knows the address is
 * registered.
 */
export type PaymentPolicy = (output: TransactionOutput) => boolean;

/** Every output to a registered address is a payment, whatever it carries. */
export const everyOutputIsAPayment: PaymentPolicy = () => true;

/** Only outputs carrying at least this much lovelace are payments (their tokens do not change the answer). */
export function paymentsOfAtLeast(minimumLovelace: bigint): PaymentPolicy {
  return (output) => output.lovelace >= minimumLovelace;
}

/** The policy the monitor runs with: the payment engine and reconciliation both use it unless told otherwise. */
export const PAYMENT_POLICY: PaymentPolicy = everyOutputIsAPayment;
