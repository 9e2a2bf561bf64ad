/**
 * An independent in-memory oracle of invoices (issue 15), written from the rules' prose
 * (/work/helper-briefs/invoice-rules.md, "the specification every implementation follows") and not from
 * functions/domain/invoices: a second implementation, so that the model test compares two readings of the rules.
 *
 * It is structured differently from a "sum the payments, then decide" function: after every engine step it replays
 * the engine's chain block by block and, per invoice, decides block by block what the payments so far amount to
 * (on time, on time or late, all) and at which block the invoice became paid in full on time. The sticky facts and
 * the events of each step follow from comparing the judgement with the invoice's previous one.
 */

export const LOVELACE = 'lovelace';
export type Asset = string;
export type Quantities = ReadonlyMap<Asset, bigint>;

export type OracleStatus = 'new' | 'processing' | 'settled' | 'expired' | 'invalid';
export type OracleAdditionalStatus = 'none' | 'paid_partial' | 'paid_over' | 'paid_late';

export interface OracleInvoiceTerms {
  id: string;
  address: string;
  /** asset → quantity > 0; lovelace present only when asked. */
  amount: Quantities;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  monitoringUntil: number;
  confirmations: number;
}

/** An output that pays an address (a valid transaction's output, or a failed one's collateral return). */
export interface OracleOutput {
  txId: string;
  index: number;
  address: string;
  quantities: Quantities;
}

export interface OracleBlock {
  height: bigint;
  /** Block time, milliseconds since the epoch. */
  time: number;
  outputs: readonly OracleOutput[];
}

export interface OracleJudgement {
  status: OracleStatus;
  additionalStatus: OracleAdditionalStatus;
  /** Every on-chain payment summed per asset; no zero entries. */
  paid: Quantities;
  settlesAtHeight: bigint | null;
}

export interface OracleInvoiceState {
  terms: OracleInvoiceTerms;
  judgement: OracleJudgement;
  everSettled: boolean;
  expired: boolean;
  /** Event types in the order they were written, starting with invoice.created. */
  events: string[];
  /**
   * What each event's data (the invoice resource) must say, parallel to events: the status (processing for the
   * invoice.processing written before invoice.settled), and for the others the judgement's additional status and paid.
   */
  eventData: OracleEventData[];
}

export interface OracleEventData {
  status: OracleStatus;
  additionalStatus?: OracleAdditionalStatus;
  paid?: Quantities;
}

/** What one step changed for one invoice. */
export interface OracleChange {
  id: string;
  before: OracleJudgement;
  after: OracleJudgement;
  events: string[];
}

function add(into: Map<Asset, bigint>, quantities: Quantities): void {
  for (const [asset, quantity] of quantities) {
    if (quantity === 0n) continue;
    into.set(asset, (into.get(asset) ?? 0n) + quantity);
  }
}

/** Every asked asset is covered. */
function covers(sums: Quantities, amount: Quantities): boolean {
  for (const [asset, asked] of amount) if ((sums.get(asset) ?? 0n) < asked) return false;
  return true;
}

function sameQuantities(a: Quantities, b: Quantities): boolean {
  const nonZero = (q: Quantities) => [...q].filter(([, v]) => v !== 0n);
  const left = nonZero(a);
  const right = nonZero(b);
  return left.length === right.length && left.every(([asset, quantity]) => b.get(asset) === quantity);
}

/** What the chain says about one invoice, read block by block. */
interface ChainReading {
  /** Height of the block whose payments first made the on-time sums cover the amount; null if none did. */
  completedAtHeight: bigint | null;
  everything: Map<Asset, bigint>;
  /** On-time and late payments (block time ≤ monitoring_until). */
  withinWindow: Map<Asset, bigint>;
  payments: number;
}

function readChain(terms: OracleInvoiceTerms, chain: readonly OracleBlock[]): ChainReading {
  const reading: ChainReading = { completedAtHeight: null, everything: new Map(), withinWindow: new Map(), payments: 0 };
  const onTime = new Map<Asset, bigint>();
  for (const block of chain) {
    const mine = block.outputs.filter((output) => output.address === terms.address);
    if (mine.length === 0) continue;
    // Within a block every payment has the block's height and time: the order (tx id, output index) among them
    // cannot move the completing height, so the block is decided as a whole.
    const inTime = block.time <= terms.expiresAt;
    const inWindow = block.time <= terms.monitoringUntil;
    for (const output of mine) {
      reading.payments++;
      add(reading.everything, output.quantities);
      if (inWindow) add(reading.withinWindow, output.quantities);
      if (inTime) add(onTime, output.quantities);
    }
    if (inTime && reading.completedAtHeight === null && covers(onTime, terms.amount)) reading.completedAtHeight = block.height;
  }
  return reading;
}

/** The judgement of an invoice on a chain (whose last block is the tip), given its sticky facts. */
export function oracleJudgement(
  terms: OracleInvoiceTerms,
  chain: readonly OracleBlock[],
  sticky: { everSettled: boolean; expired: boolean },
): OracleJudgement {
  const reading = readChain(terms, chain);
  const tip = chain.length > 0 ? chain[chain.length - 1]! : null;
  const paid = reading.everything;

  let status: OracleStatus;
  let settlesAtHeight: bigint | null = null;
  if (reading.completedAtHeight !== null) {
    settlesAtHeight = reading.completedAtHeight + BigInt(terms.confirmations) - 1n;
    status = tip !== null && tip.height >= settlesAtHeight ? 'settled' : 'processing';
  } else if (sticky.everSettled) {
    status = 'invalid';
  } else if (sticky.expired || (tip !== null && tip.time > terms.expiresAt)) {
    status = 'expired';
  } else {
    status = 'new';
  }

  let additionalStatus: OracleAdditionalStatus = 'none';
  if (status === 'processing' || status === 'settled') {
    const unexpected = [...paid.keys()].some((asset) => asset !== LOVELACE && !terms.amount.has(asset));
    const over = [...terms.amount].some(([asset, asked]) => (paid.get(asset) ?? 0n) > asked);
    if (unexpected || over) additionalStatus = 'paid_over';
  } else if (status === 'expired' && covers(reading.withinWindow, terms.amount)) {
    additionalStatus = 'paid_late';
  } else if (reading.payments > 0) {
    additionalStatus = 'paid_partial';
  }
  return { status, additionalStatus, paid, settlesAtHeight };
}

/** The events one judgement writes, from the previous judgement to the new one. */
export function oracleEvents(before: OracleJudgement, after: OracleJudgement): string[] {
  const events: string[] = [];
  const statusChanged = before.status !== after.status;
  const additionalChanged = before.additionalStatus !== after.additionalStatus;
  if (statusChanged) {
    if (after.status === 'settled' && before.status !== 'processing') events.push('invoice.processing', 'invoice.settled');
    else events.push(`invoice.${after.status}`);
  }
  if (additionalChanged && after.additionalStatus !== 'none') events.push(`invoice.${after.additionalStatus}`);
  if (events.length === 0 && (additionalChanged || !sameQuantities(before.paid, after.paid))) events.push('invoice.updated');
  return events;
}

/** The invoices as the engine must leave them after each step. */
export class InvoiceOracle {
  readonly invoices = new Map<string, OracleInvoiceState>();

  constructor(terms: readonly OracleInvoiceTerms[]) {
    for (const invoice of terms) {
      this.invoices.set(invoice.id, {
        terms: invoice,
        judgement: { status: 'new', additionalStatus: 'none', paid: new Map(), settlesAtHeight: null },
        everSettled: false,
        expired: false,
        events: ['invoice.created'],
        eventData: [{ status: 'new' }],
      });
    }
  }

  /**
   * One engine step: the engine's chain is now `chain`. Every invoice is judged (the rules allow judging more
   * often than the engine must; the result is the same); returns the invoices whose judgement changed.
   */
  step(chain: readonly OracleBlock[]): OracleChange[] {
    const changes: OracleChange[] = [];
    for (const state of this.invoices.values()) {
      const before = state.judgement;
      const after = oracleJudgement(state.terms, chain, state);
      if (after.status === 'settled') state.everSettled = true;
      if (after.status === 'expired') state.expired = true;
      const events = oracleEvents(before, after);
      state.judgement = after;
      state.events.push(...events);
      for (const [i, type] of events.entries()) {
        const intermediate = type === 'invoice.processing' && events[i + 1] === 'invoice.settled';
        state.eventData.push(
          intermediate ? { status: 'processing' } : { status: after.status, additionalStatus: after.additionalStatus, paid: after.paid },
        );
      }
      if (
        before.status !== after.status ||
        before.additionalStatus !== after.additionalStatus ||
        !sameQuantities(before.paid, after.paid)
      ) {
        changes.push({ id: state.terms.id, before, after, events });
      }
    }
    return changes;
  }

  get(id: string): OracleInvoiceState {
    const state = this.invoices.get(id);
    if (!state) throw new Error(`unknown invoice ${id}`);
    return state;
  }
}
