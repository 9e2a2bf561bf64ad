import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChainBlock, ChainTransaction, TransactionOutput } from '../../functions/domain/chain.js';
import {
  OgmiosDecodeError,
  decodeBlock,
  decodeNextBlockResponse,
  type NextBlockEvent,
} from '../../functions/domain/ogmios/block-decoder.js';
import { requireShared, SHARED_DIR } from '../support/shared-files.js';
import { parseLosslessJson, type JsonObject, type JsonValue } from '../../functions/domain/ogmios/lossless-json.js';

const SHARED = requireShared(SHARED_DIR);
const VECTORS = `${SHARED}ogmios/vectors/chainsync/NextBlockResponse/`;
const FIXTURES = `${SHARED}chain-fixtures/`;

// ---- Test data ----

const vectorFiles = readdirSync(VECTORS)
  .filter((file) => file.endsWith('.json'))
  .sort();
const readVector = (file: string): string => readFileSync(`${VECTORS}${file}`, 'utf8');

interface CatalogRow {
  direction: 'forward' | 'backward';
  transactions: number;
  outputs: number;
}

/** The per-vector table of CATALOG.md (counted independently of this decoder). */
function readCatalog(): Map<string, CatalogRow> {
  const rows = new Map<string, CatalogRow>();
  const catalog = readFileSync(`${SHARED}ogmios/vectors/CATALOG.md`, 'utf8');
  for (const match of catalog.matchAll(/^\| (\d{3}\.json) \| (forward|backward) \| [^|]+ \| [^|]+ \| (\d+) \| (\d+) \|/gm)) {
    rows.set(match[1] as string, {
      direction: match[2] as 'forward' | 'backward',
      transactions: Number(match[3]),
      outputs: Number(match[4]),
    });
  }
  return rows;
}

interface FixtureEntry {
  file: string;
  network: string;
  sequence: string | null;
  era: string;
  type: string;
  id: string;
  ancestor: string;
  slot: number | null;
  height: number;
  transactions: number;
  outputs: number;
  multiAssetOutputs: number;
  byronAddressOutputs: number;
  failedTransactions: number;
}

interface SequenceEntry {
  name: string;
  blocks: number;
  firstId: string;
  lastId: string;
  ancestorOfFirst: string;
  transactions: number;
  inputsSpendingOutputsCreatedInSequence: number;
}

const fixtureIndex = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as { blocks: FixtureEntry[]; sequences: SequenceEntry[] };
const readFixture = (file: string): string => readFileSync(`${FIXTURES}${file}`, 'utf8');

/**
 * An independent reading of a message: JSON.parse after quoting every integer literal of 16+ digits, so those
 * come back as their exact digits from the raw text. Good enough for test oracles: block JSON has no such
 * digit runs after ':' '[' or ',' inside strings (hex, bech32 and base58 contain none of those characters).
 */
function parseWithDigitsQuoted(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

type Plain = Record<string, unknown>;
const plain = (value: unknown): Plain => value as Plain;
const plainList = (value: unknown): Plain[] => (value ?? []) as Plain[];

function outputCount(block: ChainBlock): number {
  return block.transactions.reduce((total, transaction) => total + transaction.outputs.length + (transaction.collateralReturn ? 1 : 0), 0);
}

function describeAssets(output: TransactionOutput): string[] {
  return output.assets.map((asset) => `${asset.policyId}.${asset.assetName}=${asset.quantity}`).sort();
}

/** The oracle's view of an output, every amount as the digits of the raw text. */
function oracleOutput(output: Plain): { address: unknown; lovelace: string; assets: string[] } {
  const value = plain(output.value);
  const assets: string[] = [];
  for (const [policyId, tokens] of Object.entries(value)) {
    if (policyId === 'ada') continue;
    for (const [assetName, quantity] of Object.entries(plain(tokens))) assets.push(`${policyId}.${assetName}=${String(quantity)}`);
  }
  return { address: output.address, lovelace: String(plain(value.ada).lovelace), assets: assets.sort() };
}

function expectTransactionMatchesOracle(decoded: ChainTransaction, oracle: Plain): void {
  expect(decoded.id).toBe(oracle.id);
  expect(decoded.spends).toBe(oracle.spends);
  const references = (list: unknown): { txId: unknown; index: unknown }[] =>
    plainList(list).map((reference) => ({ txId: plain(reference.transaction).id, index: reference.index }));
  expect(decoded.inputs).toEqual(references(oracle.inputs));
  expect(decoded.collaterals).toEqual(references(oracle.collaterals));
  expect(
    decoded.outputs.map((output) => ({ address: output.address, lovelace: output.lovelace.toString(), assets: describeAssets(output) })),
  ).toEqual(plainList(oracle.outputs).map(oracleOutput));
  if (oracle.collateralReturn === undefined) {
    expect(decoded.collateralReturn).toBeUndefined();
  } else {
    const collateralReturn = decoded.collateralReturn as TransactionOutput;
    expect({
      address: collateralReturn.address,
      lovelace: collateralReturn.lovelace.toString(),
      assets: describeAssets(collateralReturn),
    }).toEqual(oracleOutput(plain(oracle.collateralReturn)));
  }
}

function decodeError(work: () => unknown): OgmiosDecodeError {
  try {
    work();
  } catch (error) {
    if (error instanceof OgmiosDecodeError) return error;
    throw error;
  }
  throw new Error('expected an OgmiosDecodeError');
}

function forwardBlock(event: NextBlockEvent): ChainBlock {
  if (event.type !== 'rollForward') throw new Error(`expected rollForward, got ${event.type}`);
  return event.blocks[0] as ChainBlock;
}

/** A parsed vector to mutate; objects from parseLosslessJson are writable records. */
function parsedVector(file: string): JsonObject {
  return parseLosslessJson(readVector(file)) as JsonObject;
}
const field = (value: JsonValue | undefined, key: string): JsonObject => (value as JsonObject)[key] as JsonObject;
const item = (value: JsonValue | undefined, index: number): JsonObject => (value as JsonValue[])[index] as JsonObject;
const blockOf = (message: JsonObject): JsonObject => field(field(message, 'result'), 'block');
const transactionOf = (message: JsonObject, index: number): JsonObject => item(blockOf(message).transactions, index);

// ---- Ogmios test vectors ----

describe('Ogmios v6 NextBlockResponse vectors', () => {
  const catalog = readCatalog();

  it('has the 50 vectors listed in CATALOG.md', () => {
    expect(vectorFiles).toHaveLength(50);
    expect([...catalog.keys()].sort()).toEqual(vectorFiles);
  });

  it.each(vectorFiles)('%s decodes, matching the catalog counts and the raw text digits', (file) => {
    const text = readVector(file);
    const event = decodeNextBlockResponse(text);
    const row = catalog.get(file) as CatalogRow;
    const oracle = plain(plain(parseWithDigitsQuoted(text)).result);
    const oracleTip = oracle.tip;

    if (row.direction === 'backward') {
      if (event.type !== 'rollBackward') throw new Error('expected rollBackward');
      if (oracle.point === 'origin') expect(event.point).toBe('origin');
      else expect(event.point).toEqual({ slot: BigInt(String(plain(oracle.point).slot)), hash: plain(oracle.point).id });
      if (oracleTip === 'origin') expect(event.tip).toBe('origin');
      else
        expect(event.tip).toEqual({
          slot: BigInt(String(plain(oracleTip).slot)),
          hash: plain(oracleTip).id,
          height: BigInt(String(plain(oracleTip).height)),
        });
      return;
    }

    const block = forwardBlock(event);
    if (event.type !== 'rollForward') throw new Error('unreachable');
    expect(event.blocks).toHaveLength(1);
    expect(event.tip).toEqual({
      slot: BigInt(String(plain(oracleTip).slot)),
      hash: plain(oracleTip).id,
      height: BigInt(String(plain(oracleTip).height)),
    });

    const oracleBlock = plain(oracle.block);
    expect(block.hash).toBe(oracleBlock.id);
    expect(block.ancestor).toBe(oracleBlock.ancestor);
    expect(block.height.toString()).toBe(String(oracleBlock.height));
    if (oracleBlock.type === 'ebb') expect('slot' in block).toBe(false);
    else expect((block.slot as bigint).toString()).toBe(String(oracleBlock.slot));

    expect(block.transactions).toHaveLength(row.transactions);
    expect(outputCount(block)).toBe(row.outputs);
    const oracleTransactions = plainList(oracleBlock.transactions);
    block.transactions.forEach((transaction, index) => {
      expectTransactionMatchesOracle(transaction, oracleTransactions[index] as Plain);
    });
  });

  it('decodes the vectors into 40 roll-forwards and 10 roll-backwards, one to origin', () => {
    const events = vectorFiles.map((file) => decodeNextBlockResponse(readVector(file)));
    expect(events.filter((event) => event.type === 'rollForward')).toHaveLength(40);
    const backward = events.filter((event) => event.type === 'rollBackward');
    expect(backward).toHaveLength(10);
    expect(backward.filter((event) => event.point === 'origin')).toHaveLength(1);
  });

  it('keeps big integers exact (values copied from the vector text)', () => {
    // 029.json: an EBB with "height":13521870305663481883 and no slot.
    const ebb = forwardBlock(decodeNextBlockResponse(readVector('029.json')));
    expect(ebb.height).toBe(13521870305663481883n);
    expect(ebb.slot).toBeUndefined();
    expect(ebb.transactions).toEqual([]);
    expect(ebb.ancestor).toBe('aad78a13b50a014a24633c7d44fd8f8d18f67bbb3fa9cbcedf834ac899759dcd');

    // 004.json: first output "lovelace":4951354522139984633; a failed transaction with a collateral return.
    const block = forwardBlock(decodeNextBlockResponse(readVector('004.json')));
    expect(block.ancestor).toBe('genesis');
    expect(block.transactions[0]?.outputs[0]?.lovelace).toBe(4951354522139984633n);
    expect(block.transactions[0]?.collateralReturn?.lovelace).toBe(3709831986137802095n);
    const failed = block.transactions[3] as ChainTransaction;
    expect(failed.id).toBe('1387aa15d002b54ca121cfa0b9135af7a2cf2e6f2bf9b80e0658d47d2e8761b9');
    expect(failed.spends).toBe('collaterals');
    expect(failed.collaterals).toEqual([
      { txId: '287f148f1e4fb1ad0497816ad8c2ce3ca6e4bbbc18b7506c8ec583430bd1d08d', index: 4 },
      { txId: '31e456115db6cb3314fab37ba8bb28d0fd5905910e5dee4aa56bb6e37d9f3632', index: 1 },
      { txId: '86152ff7e4e0733e7bf8a83f1e72a99e35a210a2c4d7f1769e95ee18cd408233', index: 2 },
    ]);
    expect(failed.outputs).toHaveLength(4);
    expect(failed.outputs[0]).toEqual({
      address: 'addr1x8a3u9uhxnt4996cfw0n08fj38rs294pn32tfp9ln2qk85amuz03n7zztxmr2uzqcxl5sh99m03l4yyscy6cgk02vm3svfrd0t',
      lovelace: 0n,
      assets: [
        {
          policyId: '105a8f1bb56444cacc86378c95421aceeb326b0fb7743e493eb82fd5',
          assetName: '4cfcdb99b286910670b3557aed8db9',
          quantity: 8655855015297366666n,
        },
      ],
    });
    expect(failed.collateralReturn?.assets).toEqual([
      {
        policyId: '105a8f1bb56444cacc86378c95421aceeb326b0fb7743e493eb82fd5',
        assetName: '397fe55d6fabe9ab3cddb5370800',
        quantity: 4562816502572900207n,
      },
    ]);
  });

  it('decodes a roll-backward to a point and to origin', () => {
    expect(decodeNextBlockResponse(readVector('010.json'))).toEqual({
      type: 'rollBackward',
      point: { slot: 92267n, hash: 'b5f556f2ff67952ca1237ccb40dbf33f213ce15b769597d12188e9ab8fbd7bdf' },
      tip: { slot: 4744n, hash: '669ea8a00b7307b08fae2a6eb3a59d42f7d32e80860320208938019789bef05f', height: 3015040n },
    });
    expect(decodeNextBlockResponse(readVector('021.json'))).toEqual({
      type: 'rollBackward',
      point: 'origin',
      tip: { slot: 64746n, hash: '80c35f4071f9a36c433714e830d2c82ed533ad5cb22459d1225f0f9dd901709a', height: 5736017n },
    });
  });

  it('accepts a roll-backward whose tip is origin', () => {
    const message = parsedVector('021.json');
    field(message, 'result').tip = 'origin';
    expect(decodeNextBlockResponse(message)).toEqual({ type: 'rollBackward', point: 'origin', tip: 'origin' });
  });

  it('returns bigint for every height, slot and amount, even small ones', () => {
    const block = forwardBlock(decodeNextBlockResponse(readVector('003.json')));
    expect(block.height).toBe(2n);
    expect(block.slot).toBe(4n);
    for (const transaction of block.transactions) {
      for (const output of transaction.outputs) {
        expect(typeof output.lovelace).toBe('bigint');
        for (const asset of output.assets) expect(typeof asset.quantity).toBe('bigint');
      }
    }
  });
});

// ---- Real chain fixtures ----

describe('real chain fixtures', () => {
  it('index.json lists 1,360 blocks', () => {
    expect(fixtureIndex.blocks).toHaveLength(1360);
  });

  it.each(fixtureIndex.blocks.map((entry) => [entry.file, entry] as const))('%s decodes and matches index.json', (_file, entry) => {
    const block = decodeBlock(readFixture(entry.file));
    expect(block.hash).toBe(entry.id);
    expect(block.ancestor).toBe(entry.ancestor);
    expect(block.height).toBe(BigInt(entry.height));
    if (entry.slot === null) expect(block.slot).toBeUndefined();
    else expect(block.slot).toBe(BigInt(entry.slot));
    expect(block.transactions).toHaveLength(entry.transactions);
    expect(outputCount(block)).toBe(entry.outputs);
    const outputs = block.transactions.flatMap((transaction) => [
      ...transaction.outputs,
      ...(transaction.collateralReturn ? [transaction.collateralReturn] : []),
    ]);
    expect(outputs.filter((output) => output.assets.length > 0)).toHaveLength(entry.multiAssetOutputs);
    expect(outputs.filter((output) => !output.address.startsWith('addr'))).toHaveLength(entry.byronAddressOutputs);
    expect(block.transactions.filter((transaction) => transaction.spends === 'collaterals')).toHaveLength(entry.failedTransactions);
  });

  it.each(fixtureIndex.sequences.map((sequence) => [sequence.name, sequence] as const))(
    'sequence %s is an unbroken chain whose inputs resolve like index.json says',
    (name, sequence) => {
      const blocks = fixtureIndex.blocks
        .filter((entry) => entry.sequence === name)
        .sort((left, right) => left.height - right.height)
        .map((entry) => decodeBlock(readFixture(entry.file)));
      expect(blocks).toHaveLength(sequence.blocks);
      expect(blocks[0]?.hash).toBe(sequence.firstId);
      expect(blocks.at(-1)?.hash).toBe(sequence.lastId);
      expect(blocks[0]?.ancestor).toBe(sequence.ancestorOfFirst);
      blocks.slice(1).forEach((block, position) => {
        expect(block.ancestor).toBe(blocks[position]?.hash);
      });
      expect(blocks.reduce((total, block) => total + block.transactions.length, 0)).toBe(sequence.transactions);

      // Inputs that spend an output created earlier in the same run (the engine's own bookkeeping case).
      const created = new Set<string>();
      let spendingEarlierOutputs = 0;
      for (const block of blocks) {
        for (const transaction of block.transactions) {
          for (const input of transaction.inputs) if (created.has(`${input.txId}#${input.index}`)) spendingEarlierOutputs++;
          for (const index of transaction.outputs.keys()) created.add(`${transaction.id}#${index}`);
        }
      }
      expect(spendingEarlierOutputs).toBe(sequence.inputsSpendingOutputsCreatedInSequence);
    },
  );

  // The expected literals below were copied from the fixture files' text, not produced by the decoder.

  it('Byron epoch boundary block (mainnet genesis EBB)', () => {
    const block = decodeBlock(readFixture('mainnet/byron-0-ebb.json'));
    expect(block).toEqual({
      hash: '89d9b5a5b8ddc8d7e5a6795e9774d97faf1efea59b2caf7eaf9f8c5b32059df4',
      height: 0n,
      ancestor: '5f20df933584822601f9e3f8c024eb5eb252fe8cefb24d1317dc3d432e940ebb',
      transactions: [],
    });
    expect('slot' in block).toBe(false);
  });

  it('Byron transaction with Daedalus addresses (mainnet block 43167)', () => {
    const block = decodeBlock(readFixture('mainnet/byron-43167.json'));
    expect(block.slot).toBe(43191n);
    expect(block.transactions).toEqual([
      {
        id: '7ec77545db0e4aa5cf7cab10560f0d5e00ff03d37d776f86a16b2cb85d0e8c36',
        spends: 'inputs',
        inputs: [{ txId: '0ca95f3bb516e3fa36b3c5ce18316a3d197b4faf2e36635baecae47e8a714b8d', index: 0 }],
        collaterals: [],
        outputs: [
          {
            address: 'DdzFFzCqrht2NGKPnafoH17ZphzAGgG3Q7Hj5SgsmveQTtRaNqWDBXoBqgonuePnB6nyuxvYiZFukEUMd4gGSZjN3eDFxnMQngLLU731',
            lovelace: 2313363828930n,
            assets: [],
          },
          {
            address: 'DdzFFzCqrht99RHRc3AjA1RuYfz3sKc6yZDgUYkS2DoBTMRuhnGpK59Qc11phBTK9pWn6q55qpwXtjXLhhSuRTjEUzP27VVr5jCCmT1M',
            lovelace: 40000000n,
            assets: [],
          },
        ],
      },
    ]);
  });

  it('Shelley transaction (mainnet block 4662237)', () => {
    const transaction = decodeBlock(readFixture('mainnet/shelley-4662237.json')).transactions[0];
    expect(transaction).toEqual({
      id: '48347a50990c63680b9c4af9808bbca2e2e9782fe7f8b2f811ac6c51952863bc',
      spends: 'inputs',
      inputs: [{ txId: '50eba65e73c8c5f7b09f4ea28cf15dce169f3d1c322ca3deff03725f51518bb2', index: 0 }],
      collaterals: [],
      outputs: [
        {
          address: 'addr1q86nl4hkh9hhfnyslkv447k3hldaf8lh6p8uneazlqfgtd6ugewtlrz4x6tsaz3fhdadeksdvcajqqrafqvpx62vvnhs0phka8',
          lovelace: 2332262085819n,
          assets: [],
        },
      ],
    });
  });

  it('Babbage output holding a token quantity beyond 2^53 (mainnet block 10052775, transaction 13)', () => {
    const transaction = decodeBlock(readFixture('mainnet/babbage-10052775.json')).transactions[13] as ChainTransaction;
    expect(transaction.id).toBe('71900b4b0fe4d6ef44470985dd9e8674b2d02f8596487b1ec4a4cf9240246ca5');
    expect(transaction.inputs).toEqual([
      { txId: '1819f6070a033b3b616100f27ae6c81a845a3ab6de0f80eb2d38a6b2df4f1b42', index: 1 },
      { txId: '9b921f87670f104a714cc24effe10485c00707ca1d35ddbbff9ca199063b0603', index: 0 },
      { txId: 'baf27c29a882aba4a9a0275cdc2559b0211c979c4278b605f9842bb4bb2edb99', index: 2 },
    ]);
    expect(transaction.outputs[0]).toEqual({
      address: 'addr1z8nvjzjeydcn4atcd93aac8allvrpjn7pjr2qsweukpnayg4pn8uxr87tguqw8jkn6p233rk7k683ppl2mspr8appw9q640ms8',
      lovelace: 110225229741n,
      assets: [
        { policyId: '026a18d04a0c642759bb3d83b12e3344894e5c1c7b2aeb1a2113a570', assetName: '4c', quantity: 1n },
        {
          policyId: '026a18d04a0c642759bb3d83b12e3344894e5c1c7b2aeb1a2113a570',
          assetName: '6263e0101384dace4d7a8dadf0e6d45c8d43c8872604118ee82e3f2212934917',
          quantity: 9223371980881865424n,
        },
        { policyId: 'da8c30857834c6ae7203935b89278c532b3995245295456f993e1d24', assetName: '4c51', quantity: 34356603362n },
      ],
    });
  });

  it('Conway output holding 2^63 - 1 of a token (mainnet block 10781375, transaction 3)', () => {
    const transaction = decodeBlock(readFixture('sequences/mainnet-babbage-to-conway/conway-10781375.json'))
      .transactions[3] as ChainTransaction;
    expect(transaction.id).toBe('59ecfc5b645c35fb279707ab1ec94a9c6eae1d693954a0ef1a544431604d7b88');
    expect(transaction.inputs.map((input) => `${input.txId}#${input.index}`)).toEqual([
      '30e7277b9aeb8349235697965073bd7e4233da91565a4380c7a11333c95ba2b9#1',
      '69c06988fa08fd4331368ded63ea261d6e33237c9231523fb332b8aba457ad4c#0',
      'b65ffd8712cbd237312e0a7a0793bbc55c8a30edc72b345f11f5c679e61a2820#0',
    ]);
    expect(transaction.outputs[1]?.assets).toContainEqual({
      policyId: '54648775544512675775bb5132ce6ae25407f5bab7a8dbfe416dc088',
      assetName: '4144415f544544595f4c50',
      quantity: 9223372036854775807n,
    });
    expect(transaction.outputs[1]?.assets).toContainEqual({
      policyId: 'fed1c459a47cbff56bd7d29c2dde0de3e9bd15cee02b98622fce82f7',
      assetName: '43617264616e6f476f6c64',
      quantity: 10921083n,
    });
  });

  it('Conway transaction with collaterals, a collateral return and empty asset names (preview block 3788477)', () => {
    const transaction = decodeBlock(readFixture('preview/conway-3788477.json')).transactions[0] as ChainTransaction;
    expect(transaction.id).toBe('12b3a520d5a9a1d4bbcb8df7a1a5b0ca822a01fc38cdec4a70100faefc497f3c');
    expect(transaction.spends).toBe('inputs');
    expect(transaction.collaterals).toEqual([{ txId: 'f078b52d8271c4ad934044347fad0bc50ad9c3763621fa0b6d3ff8a5c832bb53', index: 3 }]);
    expect(transaction.collateralReturn).toEqual({
      address: 'addr_test1qruhen60uwzpwnnr7gjs50z2v8u9zyfw6zunet4k42zrpr54mrlv55f93rs6j48wt29w90hlxt4rvpvshe55k5r9mpvqjv2wt4',
      lovelace: 6059959681n,
      assets: [],
    });
    expect(transaction.outputs[0]).toEqual({
      address: 'addr_test1wr58mfjzx6x8ew7erz64dlr4uw7hupjvqrn5epurq3tedrgqzssx5',
      lovelace: 33000000n,
      assets: [
        { policyId: '5606ec1f689768531abbcec60483193148fcc7cc4f2a767347ea0a38', assetName: '', quantity: 1n },
        { policyId: '919d4c2c9455016289341b1a14dedf697687af31751170d56a31466e', assetName: '74455247', quantity: 278582922991771n },
        { policyId: 'e2fa10e79331fc8a778d50fe8484095236cd90aec277f54c3e0c0913', assetName: '', quantity: 10n },
      ],
    });
    expect(transaction.outputs[1]).toEqual({
      address: 'addr_test1qruhen60uwzpwnnr7gjs50z2v8u9zyfw6zunet4k42zrpr54mrlv55f93rs6j48wt29w90hlxt4rvpvshe55k5r9mpvqjv2wt4',
      lovelace: 6060198138n,
      assets: [],
    });
  });

  it('decodes a fixture wrapped in a nextBlock message exactly like the bare block', () => {
    const text = readFixture('mainnet/alonzo-7429828.json');
    const message = `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${text},"tip":{"slot":64809954,"id":"0341a81c36c6d405dffe4362540ead960b130bf081076b5a7e38c57b7005f66e","height":7429828}},"id":"abc"}`;
    expect(decodeNextBlockResponse(message)).toEqual({
      type: 'rollForward',
      blocks: [decodeBlock(text)],
      tip: { slot: 64809954n, hash: '0341a81c36c6d405dffe4362540ead960b130bf081076b5a7e38c57b7005f66e', height: 7429828n },
    });
  });

  it('accepts a value already parsed with JSON.parse when it holds no big integers', () => {
    const text = readFixture('mainnet/shelley-4662237.json');
    expect(decodeBlock(JSON.parse(text))).toEqual(decodeBlock(text));
  });
});

// ---- Hostile metadata and unknown keys ----

describe('hostile keys', () => {
  const hostileMetadata =
    '{"hash":"0000000000000000000000000000000000000000000000000000000000000000","labels":{' +
    '"674":{"json":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":[1,2],"toString":"x","valueOf":18446744073709551615}},' +
    '"__proto__":{"json":{"__proto__":null}},"constructor":{"cbor":"00"},"prototype":{"json":1},"toString":{"json":{"toString":{"toString":{}}}}}}';
  // If `__proto__` ever became a prototype, its fields would show through wherever the real object has none.
  const impostor = `{"id":"${'f'.repeat(64)}","outputs":[],"collaterals":[{"transaction":{"id":"${'e'.repeat(64)}"},"index":9}],"collateralReturn":{"address":"evil","value":{"ada":{"lovelace":1}}}}`;
  const hostileKeys = `"__proto__":${impostor},"constructor":{"name":"x"},"prototype":null,"toString":1,"valueOf":{},"hasOwnProperty":false,`;

  /** Adds hostile metadata to each transaction and hostile keys to blocks, transactions and outputs. */
  function withHostileKeys(text: string): string {
    return text
      .replace(/"transactions":\[\{/, `"transactions":[{${hostileKeys}`)
      .replace(/\{"id":"([0-9a-f]{64})","spends"/g, `{"metadata":${hostileMetadata},${hostileKeys}"id":"$1","spends"`)
      .replace(/\{"address":/g, `{${hostileKeys}"address":`)
      .replace(/"block":\{/, `"block":{${hostileKeys}`)
      .replace(/^\{"type"/, `{${hostileKeys}"type"`);
  }

  it('metadata and unknown keys named __proto__, constructor, prototype, toString change nothing (vectors)', () => {
    for (const file of ['003.json', '004.json', '023.json', '026.json', '032.json', '037.json', '049.json']) {
      const text = readVector(file);
      const hostile = withHostileKeys(text);
      expect(hostile).not.toBe(text);
      expect(hostile.split('__proto__').length).toBeGreaterThan(5);
      expect(decodeNextBlockResponse(hostile)).toEqual(decodeNextBlockResponse(text));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('change nothing in a real block either, whether parsed losslessly or by JSON.parse', () => {
    const text = readFixture('mainnet/shelley-4662237.json');
    const hostile = withHostileKeys(text);
    expect(hostile.split('__proto__').length).toBeGreaterThan(5);
    const expected = decodeBlock(text);
    expect(decodeBlock(hostile)).toEqual(expected);
    // The hostile metadata holds 2^64 - 1, which JSON.parse rounds; the decoder never reads it.
    expect(decodeBlock(JSON.parse(hostile))).toEqual(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects __proto__ used as a policy id with a clear error', () => {
    const message = parsedVector('003.json');
    const value = field(item(transactionOf(message, 0).outputs, 0), 'value');
    value.__proto__ = { '00': 1 };
    expect(decodeError(() => decodeNextBlockResponse(message)).message).toBe(
      'nextBlock response: block fad3b807…: transaction 0 output 0: value has key "__proto__", expected "ada" or a policy id (56 lowercase hex digits)',
    );
  });
});

// ---- Malformed messages ----

describe('malformed messages', () => {
  it('truncated JSON', () => {
    const text = readVector('004.json');
    const error = decodeError(() => decodeNextBlockResponse(text.slice(0, 1000)));
    expect(error.message).toMatch(/^nextBlock response is not valid JSON: .* at position \d+ \(line 1, column \d+\)$/);
    expect(decodeError(() => decodeNextBlockResponse('{"jsonrpc":"2.0","result":{"direction":"forward","block":{')).message).toBe(
      'nextBlock response is not valid JSON: Unexpected end of JSON input (expected a string key) at position 58 (line 1, column 59)',
    );
    expect(decodeError(() => decodeBlock('{"type":"praos"')).message).toMatch(/^block is not valid JSON: Unexpected end of JSON input/);
  });

  it('a string where a number belongs', () => {
    const message = parsedVector('003.json');
    field(field(item(transactionOf(message, 0).outputs, 2), 'value'), 'ada').lovelace = '0';
    const error = decodeError(() => decodeNextBlockResponse(message));
    expect(error.message).toBe(
      'nextBlock response: block fad3b807…: transaction 0 output 2: value.ada.lovelace is not an integer (found string "0")',
    );
    expect(error.problem).toBe('value.ada.lovelace is not an integer (found string "0")');
    expect(error.location).toEqual(['nextBlock response', 'block fad3b807…', 'transaction 0 output 2']);
    expect(String(error)).toMatch(/^OgmiosDecodeError: nextBlock response: block fad3b807…: transaction 0 output 2: /);
  });

  it('the same error from text input', () => {
    const text = readVector('003.json').replace('"lovelace":0', '"lovelace":"12"');
    expect(decodeError(() => decodeNextBlockResponse(text)).message).toBe(
      'nextBlock response: block fad3b807…: transaction 0 output 0: value.ada.lovelace is not an integer (found string "12")',
    );
  });

  it('missing block id', () => {
    const message = parsedVector('003.json');
    delete blockOf(message).id;
    expect(decodeError(() => decodeNextBlockResponse(message)).message).toBe(
      'nextBlock response: block id is missing, expected 64 lowercase hex digits',
    );
    expect(decodeError(() => decodeBlock('{"type":"praos","height":1}')).message).toBe(
      'block id is missing, expected 64 lowercase hex digits',
    );
  });

  it('output without address', () => {
    const message = parsedVector('003.json');
    delete item(transactionOf(message, 0).outputs, 1).address;
    expect(decodeError(() => decodeNextBlockResponse(message)).message).toBe(
      'nextBlock response: block fad3b807…: transaction 0 output 1: address is missing, expected a non-empty string',
    );
  });

  const cases: readonly [string, (message: JsonObject) => void, string][] = [
    [
      'lovelace negative',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = -1),
      'transaction 0 output 0: value.ada.lovelace is negative (found number -1)',
    ],
    [
      'lovelace a fraction',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = 1.5),
      'transaction 0 output 0: value.ada.lovelace is not an integer (found number 1.5)',
    ],
    [
      'lovelace rounded by JSON.parse',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = 2 ** 60),
      'exact value was lost in parsing',
    ],
    [
      'value without ada',
      (m) => void delete field(item(transactionOf(m, 0).outputs, 0), 'value').ada,
      'transaction 0 output 0: value.ada is missing, expected an object',
    ],
    [
      'asset quantity null',
      (m) =>
        void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), '4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d')[
          '02c8a8669b0fff7daa3de92164359b2840e434060e6baca88c3861fd9e5aa3'
        ] = null),
      'transaction 0 output 0: value.4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d.02c8a8669b0fff7daa3de92164359b2840e434060e6baca88c3861fd9e5aa3 is not an integer (found null)',
    ],
    [
      'asset name of odd length',
      (m) =>
        void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), '4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d').abc =
          1),
      'has asset name "abc", expected an even number (0 to 64) of lowercase hex digits',
    ],
    [
      'policy id in upper case',
      (m) => void (field(item(transactionOf(m, 0).outputs, 0), 'value')['4D50A11E297E7783383BF06DD6E4E481230323BD96CD8B8D9EE3888D'] = {}),
      'transaction 0 output 0: value has key "4D50A11E297E7783383BF06DD6E4E481230323BD96CD8...", expected "ada" or a policy id',
    ],
    [
      'output is null',
      (m) => void ((transactionOf(m, 1).outputs as JsonValue[])[0] = null),
      'transaction 1 output 0: the output is null, expected an object',
    ],
    ['outputs not an array', (m) => void (transactionOf(m, 2).outputs = {}), 'transaction 2: outputs is an object, expected an array'],
    [
      'input index a string',
      (m) => void (item(transactionOf(m, 0).inputs, 1).index = '0'),
      'transaction 0 input 1: index is not a non-negative integer (found string "0")',
    ],
    [
      'input index beyond 2^53',
      (m) => void (item(transactionOf(m, 0).inputs, 0).index = 2n ** 64n),
      'transaction 0 input 0: index is 18446744073709551616, too large for an output index',
    ],
    [
      'input transaction id short',
      (m) => void (field(item(transactionOf(m, 0).inputs, 0), 'transaction').id = 'abc'),
      'transaction 0 input 0: transaction.id is string "abc", expected 64 lowercase hex digits',
    ],
    ['inputs missing', (m) => void delete transactionOf(m, 1).inputs, 'transaction 1: inputs is missing, expected an array'],
    [
      'collateral without transaction',
      (m) => void delete item(transactionOf(m, 0).collaterals, 0).transaction,
      'transaction 0 collateral 0: transaction is missing, expected an object',
    ],
    [
      'collateral return without value',
      (m) => void delete field(transactionOf(m, 0), 'collateralReturn').value,
      'transaction 0 collateralReturn: value is missing, expected an object',
    ],
    [
      'spends unknown',
      (m) => void (transactionOf(m, 0).spends = 'everything'),
      'transaction 0: spends is string "everything", expected "inputs" or "collaterals"',
    ],
    [
      'transaction id uppercase',
      (m) => void (transactionOf(m, 0).id = 'A'.repeat(64)),
      'transaction 0: id is string "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...", expected 64 lowercase hex digits',
    ],
    [
      'transactions not an array',
      (m) => void (blockOf(m).transactions = 'none'),
      'block fad3b807…: transactions is string "none", expected an array',
    ],
    ['slot missing', (m) => void delete blockOf(m).slot, 'block fad3b807…: slot is missing, expected an integer'],
    [
      'height negative bigint',
      (m) => void (blockOf(m).height = -(2n ** 64n)),
      'block fad3b807…: height is negative (found integer -18446744073709551616)',
    ],
    [
      'ancestor bad',
      (m) => void (blockOf(m).ancestor = 'origin'),
      'block fad3b807…: ancestor is string "origin", expected 64 lowercase hex digits',
    ],
    ['block type missing', (m) => void delete blockOf(m).type, 'block fad3b807…: type is missing, expected a string'],
    ['block missing', (m) => void delete field(m, 'result').block, 'nextBlock response: the block is missing, expected an object'],
    [
      'forward tip origin',
      (m) => void (field(m, 'result').tip = 'origin'),
      'nextBlock response: result.tip is string "origin", expected an object',
    ],
    [
      'tip height missing',
      (m) => void delete field(field(m, 'result'), 'tip').height,
      'nextBlock response: result.tip.height is missing, expected an integer',
    ],
    [
      'direction unknown',
      (m) => void (field(m, 'result').direction = 'sideways'),
      'nextBlock response: result.direction is string "sideways", expected "forward" or "backward"',
    ],
    [
      'other method',
      (m) => void (m.method = 'findIntersection'),
      'nextBlock response: method is string "findIntersection", expected "nextBlock"',
    ],
    ['result missing', (m) => void delete m.result, 'nextBlock response: result is missing, expected an object'],
    [
      'JSON-RPC error',
      (m) => {
        delete m.result;
        m.error = { code: -32600, message: 'Invalid request' };
      },
      'nextBlock response: the server answered with JSON-RPC error -32600 "Invalid request"',
    ],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const message = parsedVector('003.json');
    mutate(message);
    const error = decodeError(() => decodeNextBlockResponse(message));
    expect(error.message).toContain(expected);
  });

  it('roll-backward with a malformed point', () => {
    const message = parsedVector('010.json');
    field(field(message, 'result'), 'point').slot = 'x';
    expect(decodeError(() => decodeNextBlockResponse(message)).message).toBe(
      'nextBlock response: result.point.slot is not an integer (found string "x")',
    );
    field(message, 'result').point = null;
    expect(decodeError(() => decodeNextBlockResponse(message)).message).toBe(
      'nextBlock response: result.point is null, expected an object',
    );
  });

  it('accepts the message as UTF-8 bytes, and rejects bytes that are not UTF-8', () => {
    const text = readVector('004.json');
    expect(decodeNextBlockResponse(Buffer.from(text, 'utf8'))).toEqual(decodeNextBlockResponse(text));
    expect(decodeBlock(new TextEncoder().encode(readFixture('mainnet/byron-43167.json')))).toEqual(
      decodeBlock(readFixture('mainnet/byron-43167.json')),
    );
    const invalid = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","result":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(decodeError(() => decodeNextBlockResponse(invalid)).message).toBe('nextBlock response is not valid UTF-8');
  });

  it('non-object messages', () => {
    for (const message of [null, undefined, 42, [], true, 'null', '[]', '"x"']) {
      expect(decodeError(() => decodeNextBlockResponse(message)).message).toMatch(
        /^nextBlock response: the message is .*, expected an object$/,
      );
    }
    expect(decodeError(() => decodeBlock(null)).message).toBe('the block is null, expected an object');
  });

  it('never fails with anything but OgmiosDecodeError under random corruption', () => {
    let state = 12345;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const junk: readonly (JsonValue | undefined)[] = [
      undefined,
      null,
      true,
      0,
      -1,
      1.5,
      2 ** 60,
      2n ** 64n,
      -5n,
      '',
      'x',
      'origin',
      [],
      [null],
      {},
      { id: 1 },
    ];
    let rejected = 0;
    for (let round = 0; round < 3000; round++) {
      const file = vectorFiles[Math.floor(random() * vectorFiles.length)] as string;
      const message = parsedVector(file);
      // Walk down a random path and replace (or delete) what is there.
      let container: JsonObject | JsonValue[] = message;
      for (;;) {
        const keys: string[] = Object.keys(container);
        if (keys.length === 0) break;
        const key = keys[Math.floor(random() * keys.length)] as string;
        const child = (container as Record<string, JsonValue>)[key] as JsonValue;
        if (typeof child === 'object' && child !== null && random() < 0.8) {
          container = child as JsonObject | JsonValue[];
          continue;
        }
        const replacement = junk[Math.floor(random() * junk.length)];
        if (replacement === undefined) delete (container as Record<string, JsonValue>)[key];
        else (container as Record<string, JsonValue>)[key] = replacement;
        break;
      }
      try {
        decodeNextBlockResponse(message);
      } catch (error) {
        if (!(error instanceof OgmiosDecodeError)) throw new Error(`${file}: unexpected ${String(error)}`);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});

// ---- Tolerance for later Ogmios versions ----

describe('later Ogmios versions', () => {
  it('treats a transaction without outputs as having none (v7 omits empty outputs)', () => {
    const message = parsedVector('003.json');
    delete transactionOf(message, 0).outputs;
    const transaction = forwardBlock(decodeNextBlockResponse(message)).transactions[0] as ChainTransaction;
    expect(transaction.outputs).toEqual([]);
    expect(transaction.collateralReturn).toBeDefined();
  });

  it('decodes an unknown era as praos-like, and a block without transactions as empty', () => {
    const message = parsedVector('043.json');
    blockOf(message).era = 'dijkstra';
    blockOf(message).futureField = { anything: [1, 2, 3] };
    const block = forwardBlock(decodeNextBlockResponse(message));
    expect(block.transactions).toHaveLength(3);
    delete blockOf(message).transactions;
    expect(forwardBlock(decodeNextBlockResponse(message)).transactions).toEqual([]);
  });

  it('accepts a response without "method" (--strict-rpc) and any id', () => {
    const message = parsedVector('003.json');
    delete message.method;
    message.id = { requestId: 'abc' };
    expect(decodeNextBlockResponse(message)).toEqual(decodeNextBlockResponse(readVector('003.json')));
  });
});
