/**
 * Synthetic Conway-era Praos blocks: a rotating set of stake pools as issuers, and a transaction count skewed
 * towards small blocks with a long tail, as on mainnet (median around 30 with the default 10–300 range).
 */
import type { JsonRecord } from './block-effects.js';
import type { BlockDraft } from './block-draft.js';
import type { BlockBody, BlockSource } from './block-source.js';
import type { SeededRandom } from './random.js';
import type { SyntheticTransactions } from './synthetic-transactions.js';

export interface TransactionCountRange {
  readonly min: number;
  readonly max: number;
}

/** Slots per KES period on every public network (Shelley genesis slotsPerKESPeriod). */
const SLOTS_PER_KES_PERIOD = 129_600;
/** Protocol version of the Conway era since the Plomin hard fork. */
const PROTOCOL_VERSION = { major: 10, minor: 0 } as const;
const POOL_COUNT = 100;

interface StakePool {
  readonly verificationKey: string;
  readonly vrfVerificationKey: string;
  readonly operationalCertificateCount: number;
  readonly operationalCertificateSigma: string;
  readonly kesVerificationKey: string;
}

export class SyntheticBlockSource implements BlockSource {
  private readonly pools: readonly StakePool[];

  constructor(
    private readonly random: SeededRandom,
    private readonly transactions: SyntheticTransactions,
    private readonly transactionsPerBlock: TransactionCountRange,
  ) {
    this.pools = Array.from({ length: POOL_COUNT }, () => ({
      verificationKey: random.hex(32),
      vrfVerificationKey: random.hex(32),
      operationalCertificateCount: random.integer(0, 20),
      operationalCertificateSigma: random.hex(64),
      kesVerificationKey: random.hex(32),
    }));
  }

  nextBody(draft: BlockDraft): BlockBody {
    const count = this.transactionCount();
    const transactions: JsonRecord[] = [];
    for (let index = 0; index < count; index++) transactions.push(this.transactions.background(draft));
    return { era: 'conway', header: this.header(draft.slot), transactions };
  }

  private transactionCount(): number {
    const { min, max } = this.transactionsPerBlock;
    return min + Math.floor((max - min + 1) * this.random.next() ** 4);
  }

  private header(slot: number): JsonRecord {
    const pool = this.random.pick(this.pools);
    return {
      issuer: {
        verificationKey: pool.verificationKey,
        vrfVerificationKey: pool.vrfVerificationKey,
        operationalCertificate: {
          count: pool.operationalCertificateCount,
          sigma: pool.operationalCertificateSigma,
          kes: { period: Math.floor(slot / SLOTS_PER_KES_PERIOD), verificationKey: pool.kesVerificationKey },
        },
        leaderValue: { output: this.random.hex(64), proof: this.random.hex(80) },
      },
      protocol: { version: PROTOCOL_VERSION },
    };
  }
}
