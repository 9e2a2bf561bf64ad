/**
 * The official TypeScript client (@cardano-ogmios/client 6.14) as an independent peer: it follows the simulator
 * through forks and ends with exactly the simulator's chain; its ledger-state and submission clients work too.
 */
import {
  createChainSynchronizationClient,
  createInteractionContext,
  createLedgerStateQueryClient,
  createTransactionSubmissionClient,
  type InteractionContext,
} from '@cardano-ogmios/client';
import type { Block, Point } from '@cardano-ogmios/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { signedTransaction, testKey } from '../support/signed-transactions.js';

const PAYEE = syntheticAddress('mainnet', 'peer-payee');
/** A wallet funded in the first block: its transactions pass the simulator's ledger rules. */
const WALLET = testKey('mainnet');

let simulator: OgmiosSimulator;
const contexts: InteractionContext[] = [];

async function openContext(): Promise<InteractionContext> {
  const context = await createInteractionContext(
    (error) => {
      throw error;
    },
    () => undefined,
    // Always pass the options object: the client reads options.maxEventListeners without a guard.
    { connection: { address: { http: simulator.httpUrl, webSocket: simulator.url } }, maxEventListeners: 20 },
  );
  contexts.push(context);
  return context;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  simulator = await startOgmiosSimulator({
    seed: 'peer',
    initialBlocks: 40,
    transactionsPerBlock: { min: 1, max: 8 },
    payTo: [{ address: PAYEE }],
    fund: [{ address: WALLET.address, lovelace: 10_000_000n }],
    paymentsPerBlock: 0.5,
    forks: { everyBlocks: 5, maxDepth: 3 },
  });
});
afterAll(async () => {
  for (const context of contexts) if (context.socket.readyState === context.socket.OPEN) context.socket.close();
  await simulator.stop();
});

describe('@cardano-ogmios/client against the simulator', () => {
  it('follows through forks and ends with the simulator chain, block for block', async () => {
    const followed: { id: string; height: number; ancestor: string }[] = [];
    let rollBackwards = 0;
    const client = await createChainSynchronizationClient(await openContext(), {
      rollForward: async ({ block }: { block: Block }, requestNext: () => void) => {
        const previous = followed.at(-1);
        if ('ancestor' in block) expect(block.ancestor).toBe(previous?.id ?? 'genesis');
        followed.push({ id: block.id, height: block.height, ancestor: 'ancestor' in block ? block.ancestor : '' });
        requestNext();
      },
      rollBackward: async ({ point }: { point: Point | 'origin' }, requestNext: () => void) => {
        rollBackwards++;
        const keep = point === 'origin' ? 0 : followed.findIndex((block) => block.id === point.id) + 1;
        if (point !== 'origin') expect(keep).toBeGreaterThan(0); // the point is a block the client holds
        followed.length = keep;
        requestNext();
      },
    });
    const { intersection } = await client.resume(['origin'], 20);
    expect(intersection).toBe('origin');

    const atTip = () => followed.at(-1)?.id === (simulator.tip() as { id: string }).id;
    for (let round = 0; round < 8; round++) {
      simulator.produceBlocks(4); // forks every 5 steps
      // The client holds the tip before a fork, so the fork takes blocks it has: it must roll back.
      await until(atTip, `the client to reach the tip (round ${round})`);
      if (round % 3 === 1) simulator.rollBack(2);
    }
    await until(atTip, 'the client to reach the tip');

    expect(rollBackwards).toBeGreaterThan(3); // the first (to the intersection), then forks
    expect(followed.map((block) => block.id)).toEqual(simulator.chain().map((block) => block.id));
    expect(followed.map((block) => block.height)).toEqual([...followed.keys()]);
    await client.shutdown();
  });

  it('resumes from a point: the intersection, then the blocks after it', async () => {
    const chain = simulator.chain();
    const from = chain[chain.length - 6]!;
    const received: string[] = [];
    const client = await createChainSynchronizationClient(await openContext(), {
      rollForward: async ({ block }: { block: Block }, requestNext: () => void) => {
        received.push(block.id);
        requestNext();
      },
      rollBackward: async (_: unknown, requestNext: () => void) => requestNext(),
    });
    const { intersection, tip } = await client.resume([{ slot: from.slot, id: from.id }], 3);
    expect(intersection).toEqual({ slot: from.slot, id: from.id });
    expect(tip).toEqual(simulator.tip());
    await until(() => received.length === 5, 'five blocks');
    expect(received).toEqual(chain.slice(-5).map((block) => block.id));
    await client.shutdown();
  });

  it('queries the ledger state: payments by address, tips', async () => {
    simulator.queuePayment({ address: PAYEE, lovelace: 123_456_789n });
    simulator.produceBlocks(1);
    const ledger = await createLedgerStateQueryClient(await openContext());
    const utxo = await ledger.utxo({ addresses: [PAYEE] });
    const expected = simulator.ledger.utxosAt(PAYEE);
    expect(utxo.map((entry) => `${entry.transaction.id}#${entry.index}`)).toEqual(expected.map((entry) => `${entry.txId}#${entry.index}`));
    expect(utxo.map((entry) => BigInt(entry.value.ada.lovelace))).toEqual(expected.map((entry) => entry.lovelace));
    expect(await ledger.networkTip()).toEqual({
      slot: (simulator.tip() as { slot: number }).slot,
      id: (simulator.tip() as { id: string }).id,
    });
    expect(await ledger.ledgerTip()).toEqual(await ledger.networkTip());
    expect(await ledger.networkBlockHeight()).toBe((simulator.tip() as { height: number }).height);
    await ledger.shutdown();
  });

  it('submits a transaction and gets its id back', async () => {
    const submission = await createTransactionSubmissionClient(await openContext());
    const [funded] = simulator.ledger.utxosAt(WALLET.address);
    const built = signedTransaction({
      inputs: [funded!],
      outputs: [{ address: PAYEE, lovelace: funded!.lovelace }],
      feeFrom: 0,
      signers: [WALLET],
    });
    const id = await submission.submitTransaction(built.cbor);
    expect(id).toBe(built.id);
    expect(simulator.produceBlocks(1)[0]?.transactionIds).toContain(id);
    await submission.shutdown();
  });
});
