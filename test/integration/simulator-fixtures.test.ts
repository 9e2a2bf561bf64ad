/**
 * Replaying the real recorded blocks: what the simulator serves decodes with the project's Ogmios decoder, keeps
 * every transaction exactly as recorded (original ids, byte-identical JSON, integers beyond 2^53 intact), is
 * re-linked into one chain, and the simulator's UTxO set is what those real transactions produce.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainBlock } from '../../functions/domain/chain.js';
import { decodeBlock, decodeNextBlockResponse } from '../../functions/domain/ogmios/block-decoder.js';
import { startOgmiosSimulator, type BlockProducedEvent, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { selectFixtureBlocks } from '../../functions/local/simulator/fixture-blocks.js';
import { RawOgmiosConnection } from '../support/ogmios-schema.js';
import { CHAIN_FIXTURES_DIR, requireShared } from '../support/shared-files.js';

const FIXTURES = requireShared(CHAIN_FIXTURES_DIR);
const replayOrder = selectFixtureBlocks(FIXTURES, 'mainnet');
const readFixture = (file: string): string => readFileSync(join(FIXTURES, file), 'utf8').trim();

/** The `"transactions":[…]` part of a block's JSON, which the producer writes last (as the fixtures have it). */
const transactionsJson = (blockJson: string): string => blockJson.slice(blockJson.indexOf('"transactions":'));

let simulator: OgmiosSimulator;
let produced: BlockProducedEvent[];
const served: { raw: string; block: ChainBlock }[] = [];

beforeAll(async () => {
  simulator = await startOgmiosSimulator({ network: 'mainnet', source: 'fixtures', seed: 'fixture-replay', fixturesDirectory: FIXTURES });
  produced = simulator.produceBlocks(replayOrder.length);
  const connection = await RawOgmiosConnection.open(simulator.url);
  await connection.request('findIntersection', { points: ['origin'] });
  await connection.request('nextBlock');
  for (let count = 0; count < produced.length; count++) {
    const raw = await connection.request('nextBlock');
    const event = decodeNextBlockResponse(raw);
    if (event.type !== 'rollForward') throw new Error('expected a RollForward');
    served.push({ raw, block: event.blocks[0] as ChainBlock });
  }
  connection.close();
}, 60_000);
afterAll(async () => {
  await simulator.stop();
});

describe('fixture replay', () => {
  it('replays the Babbage and Conway sequences of mainnet, in chronological order', () => {
    expect(replayOrder.length).toBeGreaterThan(250);
    expect(new Set(replayOrder.map((entry) => entry.era))).toEqual(new Set(['babbage', 'conway']));
    expect(replayOrder.every((entry) => entry.network === 'mainnet' && entry.sequence !== null)).toBe(true);
    expect(produced.map((event) => event.replayOf)).toEqual(replayOrder.map((entry) => entry.file));
  });

  it('serves blocks that decode, re-linked into one chain from genesis', () => {
    expect(served.map(({ block }) => block.hash)).toEqual(produced.map((event) => event.id));
    served.forEach(({ block }, index) => {
      expect(block.height).toBe(BigInt(index));
      expect(block.ancestor).toBe(index === 0 ? 'genesis' : served[index - 1]?.block.hash);
      if (index > 0) expect(block.slot! > served[index - 1]!.block.slot!).toBe(true);
    });
    const originalIds = new Set(replayOrder.map((entry) => entry.id));
    expect(served.some(({ block }) => originalIds.has(block.hash))).toBe(false);
  });

  it('keeps every transaction as recorded: original ids, byte-identical JSON', () => {
    served.forEach(({ raw, block }, index) => {
      const entry = replayOrder[index]!;
      const original = readFixture(entry.file);
      const originalBlock = decodeBlock(original);
      expect(block.transactions.map((transaction) => transaction.id)).toEqual(
        originalBlock.transactions.map((transaction) => transaction.id),
      );
      const servedBlockJson = simulator.blockJson(block.hash)!;
      expect(raw).toContain(servedBlockJson);
      expect(transactionsJson(servedBlockJson)).toBe(transactionsJson(original));
      const recorded = JSON.parse(original) as { era: string; size: unknown; issuer: unknown; protocol: unknown };
      expect(JSON.parse(servedBlockJson)).toMatchObject({
        era: recorded.era,
        size: recorded.size,
        issuer: recorded.issuer,
        protocol: recorded.protocol,
      });
    });
    expect(served.some(({ raw }) => /:\d{17,}[,}\]]/.test(raw))).toBe(true); // integers beyond 2^53 came through
  });

  it('tracks exactly the outputs the replayed transactions created and did not spend', async () => {
    // Computed independently, from the decoded blocks, with the ledger rules of a failed transaction.
    const unspent = new Set<string>();
    for (const { block } of served) {
      for (const transaction of block.transactions) {
        const valid = transaction.spends === 'inputs';
        for (const input of valid ? transaction.inputs : transaction.collaterals) unspent.delete(`${input.txId}#${input.index}`);
        if (valid) for (const index of transaction.outputs.keys()) unspent.add(`${transaction.id}#${index}`);
        else if (transaction.collateralReturn) unspent.add(`${transaction.id}#${transaction.outputs.length}`);
      }
    }
    const connection = await RawOgmiosConnection.open(simulator.url);
    const whole = JSON.parse(await connection.request('queryLedgerState/utxo')) as {
      result: { transaction: { id: string }; index: number }[];
    };
    connection.close();
    expect(new Set(whole.result.map((entry) => `${entry.transaction.id}#${entry.index}`))).toEqual(unspent);
    expect(simulator.ledger.size).toBe(unspent.size);
  });

  it('cycles back to the first fixture, with new block ids', () => {
    const [again] = simulator.produceBlocks(1);
    expect(again?.replayOf).toBe(replayOrder[0]?.file);
    expect(again?.transactionIds).toEqual(produced[0]?.transactionIds);
    expect(again?.id).not.toBe(produced[0]?.id);
    expect(again?.ancestor).toBe(produced.at(-1)?.id);
  });

  it('replays the chosen network: preprod blocks carry testnet addresses', async () => {
    const preprod = await startOgmiosSimulator({
      network: 'preprod',
      source: 'fixtures',
      seed: 'preprod-replay',
      initialBlocks: 3,
      fixturesDirectory: FIXTURES,
    });
    try {
      const order = selectFixtureBlocks(FIXTURES, 'preprod');
      expect(order.every((entry) => entry.network === 'preprod')).toBe(true);
      const json = preprod
        .chain()
        .map((block) => preprod.blockJson(block.id)!)
        .join('');
      expect(json).toContain('"address":"addr_test1');
      expect(json).not.toContain('"address":"addr1');
    } finally {
      await preprod.stop();
    }
  });
});
