import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { encodeBech32 } from '../../functions/domain/address/bech32.js';
import type { AssetQuantity, ChainBlock, ChainTransaction, OutputReference, TransactionOutput } from '../../functions/domain/chain.js';
import { syntheticHash } from '../../functions/local/synthetic/addresses.js';

interface BlockShape {
  transactions: number;
  outputsPerTransaction: number;
}

/** Real mainnet Babbage/Conway block shapes from the shared fixtures' index, held to 10–300 transactions. */
export function mainnetBlockShapes(indexPath: string): BlockShape[] {
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as {
    blocks: { network: string; era: string; transactions: number; outputs: number }[];
  };
  return index.blocks
    .filter((b) => b.network === 'mainnet' && (b.era === 'babbage' || b.era === 'conway') && b.transactions > 0)
    .map((b) => ({
      transactions: Math.min(300, Math.max(10, b.transactions)),
      outputsPerTransaction: b.outputs / b.transactions,
    }));
}

/** The token a fifth of the outputs carry: '<policy>.<asset name hex>'. */
export const BENCH_TOKEN = `${'b1'.repeat(28)}.746f6b656e`;
const [BENCH_TOKEN_POLICY, BENCH_TOKEN_NAME] = BENCH_TOKEN.split('.') as [string, string];

/** A 103-character mainnet base address, like most real outputs. */
function randomBaseAddress(): string {
  const bytes = randomBytes(57);
  bytes[0] = 0x01;
  return encodeBech32('addr', bytes);
}

export interface ChainGeneratorOptions {
  shapes: BlockShape[];
  /** The registered address number i (derived on demand: holding a million strings would burden the GC). */
  registeredAddress: (i: number) => string;
  registeredCount: number;
  /** Share of outputs that pay a registered address. */
  paymentShare: number;
  seedRandom?: () => number;
}

/**
 * Generates consecutive mainnet-like blocks: real transaction and output counts, two inputs per transaction
 * spending recent outputs (so payments get spent), a fifth of the outputs carrying native tokens.
 */
export class MainnetLikeChain {
  private height = 10_000_000n;
  private slot = 150_000_000n;
  private tipHash = syntheticHash('bench-genesis');
  private readonly strangers = Array.from({ length: 50_000 }, randomBaseAddress);
  private readonly recentOutputs: OutputReference[] = [];
  private counter = 0;
  private readonly random: () => number;
  totalTransactions = 0;
  generatedBlocks = 0;
  totalOutputs = 0;

  constructor(private readonly options: ChainGeneratorOptions) {
    this.random = options.seedRandom ?? Math.random;
  }

  nextBlocks(count: number): ChainBlock[] {
    return Array.from({ length: count }, () => this.nextBlock());
  }

  private nextBlock(): ChainBlock {
    const shape = this.options.shapes[Math.floor(this.random() * this.options.shapes.length)]!;
    const transactions: ChainTransaction[] = [];
    for (let t = 0; t < shape.transactions; t++) transactions.push(this.nextTransaction(shape.outputsPerTransaction));
    this.height += 1n;
    this.slot += 20n;
    const block: ChainBlock = {
      hash: syntheticHash(`bench-block:${this.height}`),
      height: this.height,
      slot: this.slot,
      ancestor: this.tipHash,
      transactions,
    };
    this.tipHash = block.hash;
    this.totalTransactions += transactions.length;
    this.generatedBlocks++;
    return block;
  }

  private nextTransaction(outputsPerTransaction: number): ChainTransaction {
    const id = syntheticHash(`bench-tx:${this.counter++}`);
    const outputCount = Math.max(1, Math.round(outputsPerTransaction * (0.5 + this.random())));
    const outputs: TransactionOutput[] = [];
    for (let i = 0; i < outputCount; i++) outputs.push(this.nextOutput());
    const inputs: OutputReference[] = [];
    for (let i = 0; i < 2 && this.recentOutputs.length > 0; i++) {
      inputs.push(this.recentOutputs[Math.floor(this.random() * this.recentOutputs.length)]!);
    }
    for (let index = 0; index < outputs.length; index++) this.remember({ txId: id, index });
    this.totalOutputs += outputs.length;
    return { id, spends: 'inputs', inputs, collaterals: [], outputs };
  }

  private nextOutput(): TransactionOutput {
    const { registeredAddress, registeredCount, paymentShare } = this.options;
    const address =
      this.random() < paymentShare
        ? registeredAddress(Math.floor(this.random() * registeredCount))
        : this.strangers[Math.floor(this.random() * this.strangers.length)]!;
    const lovelace = 1_000_000n + BigInt(Math.floor(this.random() * 1e12));
    const assets: AssetQuantity[] =
      this.random() < 0.2
        ? [{ policyId: BENCH_TOKEN_POLICY, assetName: BENCH_TOKEN_NAME, quantity: BigInt(Math.floor(this.random() * 1e15)) }]
        : [];
    return { address, lovelace, assets };
  }

  private remember(output: OutputReference): void {
    if (this.recentOutputs.length < 20_000) this.recentOutputs.push(output);
    else this.recentOutputs[Math.floor(this.random() * this.recentOutputs.length)] = output;
  }
}
