/** The chain the simulator produces: structure, clock, determinism, forks, mainnet-like content, payments. */
import { afterEach, describe, expect, it } from 'vitest';
import { validateAddress } from '../../functions/domain/address.js';
import { slotToTime, type Network } from '../../functions/domain/network.js';
import { decodeBlock } from '../../functions/domain/ogmios/block-decoder.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import {
  startOgmiosSimulator,
  type OgmiosSimulator,
  type OgmiosSimulatorOptions,
  type RollbackEvent,
} from '../../functions/local/simulator/index.js';

const started: OgmiosSimulator[] = [];
async function start(options: OgmiosSimulatorOptions): Promise<OgmiosSimulator> {
  const simulator = await startOgmiosSimulator(options);
  started.push(simulator);
  return simulator;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.stop()));
});

type Output = { address: string; value: Record<string, unknown>; datum?: string };
type Transaction = { id: string; spends: string; outputs: Output[]; collateralReturn?: Output; metadata?: unknown; mint?: unknown };
type Block = { type: string; era: string; size: { bytes: number }; transactions: Transaction[] };
const blocksOf = (simulator: OgmiosSimulator): Block[] =>
  simulator.chain().map((block) => JSON.parse(simulator.blockJson(block.id)!) as Block);
const outputsOf = (blocks: Block[]): Output[] =>
  blocks.flatMap((block) =>
    block.transactions.flatMap((transaction) => [
      ...transaction.outputs,
      ...(transaction.collateralReturn ? [transaction.collateralReturn] : []),
    ]),
  );

describe('chain structure', () => {
  it('links Praos blocks from genesis with consecutive heights and increasing slots, ending around now', async () => {
    const before = Date.now();
    const simulator = await start({ seed: 'structure', initialBlocks: 200, transactionsPerBlock: { min: 1, max: 3 } });
    const chain = simulator.chain();
    expect(chain).toHaveLength(200);
    chain.forEach((block, index) => {
      expect(block.height).toBe(index);
      expect(block.ancestor).toBe(index === 0 ? 'genesis' : chain[index - 1]?.id);
      expect(block.id).toMatch(/^[0-9a-f]{64}$/);
      if (index > 0) expect(block.slot).toBeGreaterThan(chain[index - 1]!.slot);
    });
    const time = (slot: number) => slotToTime('mainnet', BigInt(slot)).getTime();
    const first = time(chain[0]!.slot);
    const last = time(chain.at(-1)!.slot);
    expect(Math.abs(first - (before - 200 * 20_000))).toBeLessThan(60_000);
    expect(Math.abs(last - Date.now())).toBeLessThan(15 * 60_000); // a random walk of 200 gaps of ~20 s
    const averageGapSeconds = (chain.at(-1)!.slot - chain[0]!.slot) / 199;
    expect(averageGapSeconds).toBeGreaterThan(15);
    expect(averageGapSeconds).toBeLessThan(25);
    for (const block of blocksOf(simulator)) expect(block).toMatchObject({ type: 'praos', era: 'conway' });
  });

  it('is deterministic: same seed and clock, same chain byte for byte; another seed, another chain', async () => {
    const clock = () => Date.UTC(2025, 0, 15, 12);
    const options: OgmiosSimulatorOptions = {
      seed: 'same',
      clock,
      initialBlocks: 20,
      payTo: [{ address: syntheticAddress('mainnet', 'd') }],
      forks: { everyBlocks: 4, maxDepth: 2 },
    };
    const [one, two, other] = await Promise.all([start(options), start(options), start({ ...options, seed: 'other' })]);
    for (const simulator of [one, two, other]) simulator!.produceBlocks(10);
    const json = (simulator: OgmiosSimulator) =>
      simulator
        .chain()
        .map((block) => simulator.blockJson(block.id))
        .join('\n');
    expect(json(one!)).toBe(json(two!));
    expect(json(other!)).not.toBe(json(one!));
  });

  it('raises the height by exactly n per produceBlocks(n), forks included, and reports each fork', async () => {
    const simulator = await start({
      seed: 'forks',
      initialBlocks: 10,
      transactionsPerBlock: { min: 0, max: 2 },
      forks: { everyBlocks: 3, maxDepth: 4 },
    });
    const rollbacks: RollbackEvent[] = [];
    simulator.on('rollback', (event) => rollbacks.push(event));
    const produced = simulator.produceBlocks(30);
    expect((simulator.tip() as { height: number }).height).toBe(39);
    expect(rollbacks).toHaveLength(10);
    for (const rollback of rollbacks) {
      expect(rollback.depth).toBeGreaterThanOrEqual(1);
      expect(rollback.depth).toBeLessThanOrEqual(4);
      expect(rollback.droppedBlockIds).toHaveLength(rollback.depth);
    }
    expect(produced.length).toBe(30 + rollbacks.reduce((total, rollback) => total + rollback.depth, 0));
    const chain = simulator.chain();
    chain.forEach((block, index) => {
      expect(block.ancestor).toBe(index === 0 ? 'genesis' : chain[index - 1]?.id);
    });
    const dropped = new Set(rollbacks.flatMap((rollback) => rollback.droppedBlockIds));
    expect(chain.some((block) => dropped.has(block.id))).toBe(false);
  });

  it('refuses rollbacks it cannot do, and validates its options', async () => {
    const simulator = await start({ seed: 'limits', initialBlocks: 5, network: 'preview', transactionsPerBlock: { min: 0, max: 0 } });
    expect(() => simulator.rollBack(0)).toThrow(RangeError);
    expect(() => simulator.rollBack(6)).toThrow(RangeError);
    simulator.rollBack(5);
    expect(simulator.chain()[0]?.ancestor).toBe('genesis');
    await expect(startOgmiosSimulator({ forks: { maxDepth: 3 } })).rejects.toThrow(/everyBlocks or probability/);
    await expect(startOgmiosSimulator({ network: 'preview', forks: { everyBlocks: 1, maxDepth: 500 } })).rejects.toThrow(
      /cannot exceed 432/,
    );
    await expect(startOgmiosSimulator({ transactionsPerBlock: { min: 5, max: 2 } })).rejects.toThrow(RangeError);
    await expect(
      startOgmiosSimulator({ payTo: [{ address: 'x', assets: [{ policyId: 'zz', assetName: '', quantity: 1n }] }] }),
    ).rejects.toThrow(/policy id/);
  });

  it('keeps only the retained window of blocks', async () => {
    const simulator = await start({ seed: 'window', initialBlocks: 30, retainedBlocks: 12, transactionsPerBlock: { min: 0, max: 1 } });
    simulator.produceBlocks(5);
    const chain = simulator.chain();
    expect(chain).toHaveLength(12);
    expect(chain[0]?.height).toBe(23);
    expect(simulator.ledger.at('origin')).toBeUndefined();
  });

  it('produces on a timer (blockTimeMs), which pause() stops and resume() restarts', async () => {
    const simulator = await start({ seed: 'timer', blockTimeMs: 10, transactionsPerBlock: { min: 0, max: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 120));
    simulator.pause();
    expect(simulator.paused).toBe(true);
    const height = (simulator.tip() as { height: number }).height;
    expect(height).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((simulator.tip() as { height: number }).height).toBe(height);
    simulator.resume();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((simulator.tip() as { height: number }).height).toBeGreaterThan(height);
  });
});

describe('mainnet-like synthetic content', () => {
  it('carries 10 to 300 transactions per block of realistic shapes, all decodable', async () => {
    const simulator = await start({ seed: 'content', initialBlocks: 40 });
    const blocks = blocksOf(simulator);
    const counts = blocks.map((block) => block.transactions.length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...counts)).toBeLessThanOrEqual(300);
    expect(Math.max(...counts)).toBeGreaterThan(60);
    const transactions = blocks.flatMap((block) => block.transactions);
    const outputs = outputsOf(blocks);
    expect(transactions.filter((transaction) => transaction.spends === 'collaterals').length).toBeGreaterThan(0);
    expect(transactions.filter((transaction) => transaction.metadata !== undefined).length).toBeGreaterThan(0);
    expect(transactions.filter((transaction) => transaction.mint !== undefined).length).toBeGreaterThan(0);
    expect(outputs.filter((output) => Object.keys(output.value).length > 1).length).toBeGreaterThan(outputs.length / 20);
    expect(outputs.filter((output) => output.datum !== undefined).length).toBeGreaterThan(0);
    expect(outputs.filter((output) => !output.address.startsWith('addr1')).length).toBeGreaterThan(0); // Byron
    expect(simulator.chain().some((block) => /:\d{17,}[,}]/.test(simulator.blockJson(block.id)!))).toBe(true);
    for (const block of blocks) expect(block.size.bytes).toBeLessThanOrEqual(90_112);
    for (const block of simulator.chain())
      expect(decodeBlock(simulator.blockJson(block.id)!).transactions.length).toBe(block.transactionCount);
  });

  it.each<Network>(['mainnet', 'preprod', 'preview'])('writes only valid %s addresses', async (network) => {
    const simulator = await start({ network, seed: `addresses-${network}`, initialBlocks: 15, transactionsPerBlock: { min: 20, max: 40 } });
    const addresses = new Set(outputsOf(blocksOf(simulator)).map((output) => output.address));
    expect(addresses.size).toBeGreaterThan(100);
    const invalid = [...addresses].filter((address) => {
      try {
        validateAddress(address, network);
        return false;
      } catch {
        return true;
      }
    });
    expect(invalid).toEqual([]);
  });

  it('spends earlier simulated outputs, so the UTxO set stays bounded', async () => {
    const simulator = await start({ seed: 'spending', initialBlocks: 60, transactionsPerBlock: { min: 30, max: 60 } });
    const created = outputsOf(blocksOf(simulator)).length;
    expect(simulator.ledger.size).toBeLessThan(created * 0.6);
  });
});

describe('payments', () => {
  it('pays the configured addresses at the configured rate, then spends some of them', async () => {
    const targets = [
      { address: syntheticAddress('mainnet', 'pay-1'), lovelace: 5_000_000n },
      { address: syntheticAddress('mainnet', 'pay-2'), assets: [{ policyId: 'ef'.repeat(28), assetName: '', quantity: 2n ** 60n }] },
    ];
    const simulator = await start({
      seed: 'payments',
      payTo: targets,
      paymentsPerBlock: 2,
      paymentSpendsPerBlock: 0.5,
      transactionsPerBlock: { min: 2, max: 5 },
    });
    const produced = simulator.produceBlocks(40);
    const payments = produced.flatMap((block) => block.payments);
    expect(payments.length).toBe(80);
    expect(payments.filter((payment) => payment.address === targets[0]!.address).every((payment) => payment.lovelace === 5_000_000n)).toBe(
      true,
    );
    expect(
      payments.filter((payment) => payment.address === targets[1]!.address).every((payment) => payment.assets[0]?.quantity === 2n ** 60n),
    ).toBe(true);

    const unspent = payments.filter((payment) => simulator.ledger.utxo(payment) !== undefined);
    expect(unspent.length).toBeLessThan(payments.length);
    expect(unspent.length).toBeGreaterThan(payments.length / 3);
    const atTargets = targets.flatMap((target) => simulator.ledger.utxosAt(target.address));
    expect(atTargets.map((utxo) => `${utxo.txId}#${utxo.index}`).sort()).toEqual(
      unspent.map((payment) => `${payment.txId}#${payment.index}`).sort(),
    );
  });
});
