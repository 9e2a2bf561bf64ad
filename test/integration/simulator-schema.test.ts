/**
 * Everything the simulator sends validates against the official Ogmios v6.14 schema (see
 * ../support/ogmios-schema.ts for the schema's own defects that are corrected there): chain-sync answers for
 * synthetic and replayed real blocks through forks, every query answer, submission answers, errors, /health.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startOgmiosSimulator, type OgmiosSimulator, type OgmiosSimulatorOptions } from '../../functions/local/simulator/index.js';
import { OgmiosSchemas, RawOgmiosConnection } from '../support/ogmios-schema.js';
import { signedTransaction, testKey, type TestKey } from '../support/signed-transactions.js';

const schemas = new OgmiosSchemas();

const PAYEE = syntheticAddress('preprod', 'schema-payee');
const TOKEN_PAYEE = syntheticAddress('preprod', 'schema-token-payee');
/** Wallets funded in the first block, whose transactions the ledger rules accept. */
const WALLETS: Record<'preprod' | 'mainnet', TestKey> = { preprod: testKey('preprod'), mainnet: testKey('mainnet') };

type Block = { id: string; transactions: { spends: string; outputs: { value: Record<string, unknown> }[] }[] };
type NextBlock = { result: { direction: 'forward' | 'backward'; block?: Block } };

/** Follows the simulator from the origin to its tip, producing blocks (with forks) on the way; returns every answer. */
async function followThroughForks(simulator: OgmiosSimulator, productionRounds: number): Promise<string[]> {
  const connection = await RawOgmiosConnection.open(simulator.url);
  try {
    const messages: string[] = [];
    messages.push(await connection.request('findIntersection', { points: ['origin'] }));
    for (let round = 0; round <= productionRounds; round++) {
      const tip = simulator.tip();
      for (;;) {
        const message = await connection.request('nextBlock');
        messages.push(message);
        const { result } = JSON.parse(message) as NextBlock;
        if (tip === 'origin' || (result.direction === 'forward' && result.block?.id === tip.id)) break;
      }
      if (round < productionRounds) {
        connection.send({ method: 'nextBlock' }); // waits at the tip, answered by the production below
        simulator.produceBlocks(4);
        messages.push(await connection.next());
      }
    }
    return messages;
  } finally {
    connection.close();
  }
}

function expectValid(schema: string, messages: readonly string[]): void {
  const failures = messages.flatMap((message) => schemas.errors(schema, message).map((error) => `${error} in ${message.slice(0, 160)}…`));
  expect(failures).toEqual([]);
}

describe.each<[string, OgmiosSimulatorOptions]>([
  [
    'synthetic blocks',
    {
      network: 'preprod',
      source: 'synthetic',
      seed: 'schema-synthetic',
      initialBlocks: 30,
      transactionsPerBlock: { min: 3, max: 15 },
      failedTransactionRate: 0.2,
      payTo: [
        { address: PAYEE },
        {
          address: TOKEN_PAYEE,
          lovelace: 2_000_000n,
          assets: [{ policyId: 'cd'.repeat(28), assetName: '4d4158', quantity: 2n ** 64n - 1n }],
        },
      ],
      paymentsPerBlock: 1.5,
      paymentSpendsPerBlock: 0.5,
      forks: { everyBlocks: 3, maxDepth: 2 },
      fund: [{ address: WALLETS.preprod.address, lovelace: 10_000_000n, outputs: 2 }],
    },
  ],
  [
    'replayed real blocks',
    {
      network: 'mainnet',
      source: 'fixtures',
      seed: 'schema-fixtures',
      initialBlocks: 60,
      payTo: [{ address: syntheticAddress('mainnet', 'schema') }],
      forks: { everyBlocks: 3, maxDepth: 3 },
      fund: [{ address: WALLETS.mainnet.address, lovelace: 10_000_000n, outputs: 2 }],
    },
  ],
])('%s', (_, options) => {
  let simulator: OgmiosSimulator;
  let connection: RawOgmiosConnection;
  let rollbacks = 0;

  beforeAll(async () => {
    simulator = await startOgmiosSimulator(options);
    simulator.on('rollback', () => rollbacks++);
    connection = await RawOgmiosConnection.open(simulator.url);
  });
  afterAll(async () => {
    connection.close();
    await simulator.stop();
  });

  it('nextBlock: every RollForward and RollBackward, through forks', async () => {
    const messages = await followThroughForks(simulator, 5);
    expectValid('FindIntersectionResponse', messages.slice(0, 1));
    const answers = messages.slice(1);
    expectValid('NextBlockResponse', answers);

    const results = answers.map((message) => (JSON.parse(message) as NextBlock).result);
    const blocks = results.flatMap((result) => (result.block ? [result.block] : []));
    expect(rollbacks).toBeGreaterThan(2);
    // A client only hears of the forks that cut below what it had already received.
    const midStreamRollBacks = results.slice(1).filter((result) => result.direction === 'backward').length;
    expect(midStreamRollBacks).toBeGreaterThan(0);
    expect(midStreamRollBacks).toBeLessThanOrEqual(rollbacks);
    expect(
      blocks.some((block) =>
        block.transactions.some((transaction) => transaction.outputs.some((output) => Object.keys(output.value).length > 1)),
      ),
    ).toBe(true);
    expect(answers.some((message) => /:\d{17,}[,}]/.test(message))).toBe(true); // integers beyond 2^53
    if (options.source === 'synthetic') {
      expect(blocks.some((block) => block.transactions.some((transaction) => transaction.spends === 'collaterals'))).toBe(true);
    }
  });

  it('findIntersection: found, not found (1000), interleaved (1001)', async () => {
    const block = simulator.chain()[2]!;
    const found = await connection.request('findIntersection', { points: [{ slot: block.slot, id: block.id }] });
    const missing = await connection.request('findIntersection', { points: [{ slot: 3, id: '12'.repeat(32) }] });
    await connection.request('findIntersection', {
      points: [simulator.tip()].map((tip) => (tip === 'origin' ? tip : { slot: tip.slot, id: tip.id })),
    });
    await connection.request('nextBlock');
    connection.send({ method: 'nextBlock' });
    const interleaved = await connection.request('findIntersection', { points: ['origin'] });
    expect(JSON.parse(interleaved).error.code).toBe(1001);
    expectValid('FindIntersectionResponse', [found, missing, interleaved]);
    simulator.produceBlocks(1);
    expectValid('NextBlockResponse', [await connection.next()]);
  });

  it('ledger-state queries, acquire / release, and their errors', async () => {
    const tip = simulator.tip() as { slot: number; id: string };
    const utxo = JSON.parse(await connection.request('queryLedgerState/utxo')) as {
      result: { transaction: { id: string }; index: number; address: string }[];
    };
    expect(utxo.result.length).toBeGreaterThan(0);
    const sample = utxo.result.slice(0, 3);
    expectValid('QueryLedgerStateUtxoResponse', [
      JSON.stringify(utxo),
      await connection.request('queryLedgerState/utxo', { addresses: sample.map((entry) => entry.address) }),
      await connection.request('queryLedgerState/utxo', {
        outputReferences: sample.map(({ transaction, index }) => ({ transaction, index })),
      }),
    ]);
    expectValid('QueryNetworkTipResponse', [await connection.request('queryNetwork/tip')]);
    expectValid('QueryNetworkBlockHeightResponse', [await connection.request('queryNetwork/blockHeight')]);
    expectValid('QueryNetworkStartTimeResponse', [await connection.request('queryNetwork/startTime')]);
    expectValid('QueryLedgerStateTipResponse', [await connection.request('queryLedgerState/tip')]);
    expectValid('QueryLedgerStateEpochResponse', [await connection.request('queryLedgerState/epoch')]);
    const earlier = simulator.chain().at(-3)!;
    expectValid('AcquireLedgerStateResponse', [
      await connection.request('acquireLedgerState', { point: { slot: earlier.slot, id: earlier.id } }),
      await connection.request('acquireLedgerState', { point: { slot: 5, id: '34'.repeat(32) } }),
    ]);
    // Still the earlier state: a refused acquisition leaves the one held before.
    const acquiredTip = await connection.request('queryNetwork/tip');
    expect(JSON.parse(acquiredTip).result).toEqual({ slot: earlier.slot, id: earlier.id });
    expectValid('QueryNetworkTipResponse', [acquiredTip]);
    expectValid('QueryNetworkBlockHeightResponse', [await connection.request('queryNetwork/blockHeight')]);
    expectValid('QueryLedgerStateUtxoResponse', [await connection.request('queryLedgerState/utxo', { addresses: [PAYEE] })]);
    expectValid('ReleaseLedgerStateResponse', [await connection.request('releaseLedgerState')]);
    expectValid('AcquireLedgerStateResponse', [await connection.request('acquireLedgerState', { point: { slot: tip.slot, id: tip.id } })]);
    simulator.rollBack(1); // the acquired point leaves the chain
    const expired = await connection.request('queryLedgerState/utxo', { addresses: [PAYEE] });
    expect(JSON.parse(expired).error.code).toBe(2003);
    expectValid('QueryLedgerStateUtxoResponse', [expired]);
    expectValid('QueryLedgerStateTipResponse', [await connection.request('queryLedgerState/tip')]);
    // No error is defined for the network queries: they answer the tip once the acquired state is gone.
    expectValid('QueryNetworkTipResponse', [await connection.request('queryNetwork/tip')]);
    expectValid('QueryNetworkBlockHeightResponse', [await connection.request('queryNetwork/blockHeight')]);
    expectValid('ReleaseLedgerStateResponse', [await connection.request('releaseLedgerState')]);
  });

  it('submitTransaction: accepted, refused by a ledger rule, and not deserialisable (-32602)', async () => {
    const wallet = WALLETS[simulator.network as 'preprod' | 'mainnet'];
    const [first, second] = simulator.ledger.utxosAt(wallet.address);
    const spend = (input: typeof first, changes = {}) =>
      signedTransaction({
        inputs: [input!],
        outputs: [{ address: wallet.address, lovelace: input!.lovelace }],
        feeFrom: 0,
        signers: [wallet],
        ...changes,
      }).cbor;
    const answers = [
      await connection.request('submitTransaction', { transaction: { cbor: spend(first) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend({ ...first!, txId: '0f'.repeat(32) }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend(second, { signers: [] }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend(second, { fee: 1000n }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend(second, { feeFrom: undefined }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend(second, { ttl: 1n }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: spend(second, { corruptSignature: true }) } }),
      await connection.request('submitTransaction', { transaction: { cbor: '84a300800180020aa0f5f6' } }),
      await connection.request('submitTransaction', { transaction: { cbor: '84a0a0f5f6' } }),
      await connection.request('submitTransaction', { transaction: { cbor: '00' } }),
    ];
    expect(answers.map((answer) => (JSON.parse(answer) as { error?: { code: number } }).error?.code)).toEqual([
      undefined,
      3117,
      3101,
      3122,
      3123,
      3118,
      3100,
      3121,
      -32602,
      -32602,
    ]);
    expectValid('SubmitTransactionResponse', answers);
  });

  it('queryLedgerState/protocolParameters', async () => {
    expectValid('QueryLedgerStateProtocolParametersResponse', [await connection.request('queryLedgerState/protocolParameters')]);
  });

  it('invalid requests: the generic JSON-RPC error without method', async () => {
    connection.send('{"jsonrpc":"2.0",');
    const malformed = await connection.next();
    const unknown = await connection.request('queryLedgerState/everything');
    const badParams = await connection.request('queryLedgerState/utxo', { addresses: 'addr1…' });
    expectValid('RpcError', [malformed, unknown, badParams]);
  });

  it('GET /health matches openapi.yaml, and so do the JSON-RPC answers of POST /', async () => {
    const health = await fetch(`${simulator.httpUrl}/health`);
    const body = await health.text();
    expect(schemas.healthErrors(body)).toEqual([]);
    const { startTime, lastTipUpdate } = JSON.parse(body) as { startTime: string; lastTipUpdate: string };
    for (const time of [startTime, lastTipUpdate]) expect(new Date(time).toISOString()).toBe(time);

    const post = await fetch(`${simulator.httpUrl}/`, {
      method: 'POST',
      body: '{"jsonrpc":"2.0","method":"queryNetwork/tip","id":{"requestId":"x"}}',
    });
    expectValid('QueryNetworkTipResponse', [await post.text()]);
  });
});

describe('the validator', () => {
  it('rejects what Ogmios would never send (so the checks above are not vacuous)', async () => {
    const simulator = await startOgmiosSimulator({ seed: 'negative', initialBlocks: 2, transactionsPerBlock: { min: 1, max: 2 } });
    try {
      const block = JSON.parse(simulator.blockJson(simulator.chain()[1]!.id)!) as Record<string, unknown>;
      const message = { jsonrpc: '2.0', method: 'nextBlock', result: { direction: 'forward', block, tip: simulator.tip() }, id: null };
      expect(schemas.errors('NextBlockResponse', message)).toEqual([]);
      const { issuer: _issuer, ...withoutIssuer } = block;
      expect(schemas.errors('NextBlockResponse', { ...message, result: { ...message.result, block: withoutIssuer } })).not.toEqual([]);
      expect(schemas.errors('NextBlockResponse', { ...message, method: undefined })).not.toEqual([]);
      expect(schemas.healthErrors({ lastTipUpdate: null })).not.toEqual([]);
    } finally {
      await simulator.stop();
    }
  });
});
