import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { RawOgmiosConnection } from '../support/ogmios-schema.js';
import { signedTransaction, testKey } from '../support/signed-transactions.js';

type Message = {
  method?: string;
  result?: {
    direction?: string;
    block?: { id: string; height: number; ancestor: string };
    point?: unknown;
    tip?: { height: number; id: string };
    intersection?: unknown;
  };
  error?: { code: number; message: string; data?: { tip?: unknown } };
  id?: unknown;
};
const parse = (text: string): Message => JSON.parse(text) as Message;

/** A minimal Conway-shaped transaction: [body {}, witnesses {}, true, null] (not deserialisable: no inputs, outputs, fee). */
const MINIMAL_TRANSACTION = '84a0a0f5f6';
/** [body {0: [], 1: [], 2: 10}, witnesses {}, true, null]: well-formed, refused by the ledger rules (3121, no input). */
const NO_INPUT_TRANSACTION = '84a300800180020aa0f5f6';
/** A wallet funded in the first block, to submit transactions the ledger rules accept. */
const WALLET = testKey('mainnet');

let simulator: OgmiosSimulator;
const connections: RawOgmiosConnection[] = [];

async function connect(url = simulator.url): Promise<RawOgmiosConnection> {
  const connection = await RawOgmiosConnection.open(url);
  connections.push(connection);
  return connection;
}

/** Intersects at the tip and reads the RollBackward that follows: the connection is then at the tip. */
async function followToTip(connection: RawOgmiosConnection): Promise<void> {
  const tip = simulator.tip();
  const points = tip === 'origin' ? ['origin'] : [{ slot: tip.slot, id: tip.id }];
  expect(parse(await connection.request('findIntersection', { points })).result).toBeDefined();
  expect(parse(await connection.request('nextBlock')).result?.direction).toBe('backward');
}

beforeAll(async () => {
  simulator = await startOgmiosSimulator({
    seed: 'protocol',
    initialBlocks: 10,
    transactionsPerBlock: { min: 1, max: 4 },
    fund: [{ address: WALLET.address, lovelace: 20_000_000n }],
  });
});
afterEach(() => {
  for (const connection of connections.splice(0)) connection.close();
});
afterAll(async () => {
  await simulator.stop();
});

describe('findIntersection', () => {
  it('intersects at the origin; the first nextBlock is a RollBackward to it, then the chain from its first block', async () => {
    const connection = await connect();
    const found = parse(await connection.request('findIntersection', { points: ['origin'] }, 'init'));
    expect(found).toMatchObject({ method: 'findIntersection', result: { intersection: 'origin', tip: simulator.tip() }, id: 'init' });

    const rollBack = parse(await connection.request('nextBlock'));
    expect(rollBack.result).toEqual({ direction: 'backward', point: 'origin', tip: simulator.tip() });
    const first = parse(await connection.request('nextBlock'));
    expect(first.result?.direction).toBe('forward');
    expect(first.result?.block).toMatchObject({ height: 0, ancestor: 'genesis', id: simulator.chain()[0]?.id });
  });

  it('intersects at a known point, preferring the first point of the list that is on the chain', async () => {
    const chain = simulator.chain();
    const [third, seventh] = [chain[3]!, chain[7]!];
    const connection = await connect();
    const unknown = { slot: third.slot, id: 'ab'.repeat(32) };
    const found = parse(
      await connection.request('findIntersection', {
        points: [unknown, { slot: seventh.slot, id: seventh.id }, { slot: third.slot, id: third.id }],
      }),
    );
    expect(found.result?.intersection).toEqual({ slot: seventh.slot, id: seventh.id });

    expect(parse(await connection.request('nextBlock')).result).toMatchObject({
      direction: 'backward',
      point: { slot: seventh.slot, id: seventh.id },
    });
    expect(parse(await connection.request('nextBlock')).result?.block).toMatchObject({ height: 8, ancestor: seventh.id });
  });

  it('answers 1000 with the tip for unknown points, and leaves the cursor where it was', async () => {
    const block = simulator.chain()[4]!;
    const connection = await connect();
    await connection.request('findIntersection', { points: [{ slot: block.slot, id: block.id }] });

    const wrongSlot = { slot: block.slot + 1, id: block.id };
    const missing = parse(await connection.request('findIntersection', { points: [wrongSlot, { slot: 1, id: '00'.repeat(32) }] }, 7));
    expect(missing).toEqual({
      jsonrpc: '2.0',
      method: 'findIntersection',
      error: { code: 1000, message: 'No intersection found.', data: { tip: simulator.tip() } },
      id: 7,
    });
    expect(parse(await connection.request('findIntersection', { points: [] })).error?.code).toBe(1000);

    // Still at the earlier intersection: its RollBackward, then the block after it.
    expect(parse(await connection.request('nextBlock')).result?.point).toEqual({ slot: block.slot, id: block.id });
    expect(parse(await connection.request('nextBlock')).result?.block?.height).toBe(5);
  });

  it('refuses with 1001 while a nextBlock waits, and still answers that nextBlock later', async () => {
    const connection = await connect();
    await followToTip(connection);
    connection.send({ method: 'nextBlock', id: 'waiting' });
    expect(await connection.quietFor(50)).toBe(true);

    const refused = parse(await connection.request('findIntersection', { points: ['origin'] }, 'again'));
    expect(refused).toMatchObject({ method: 'findIntersection', error: { code: 1001 }, id: 'again' });

    const [produced] = simulator.produceBlocks(1);
    const answer = parse(await connection.next());
    expect(answer).toMatchObject({ id: 'waiting', result: { direction: 'forward', block: { id: produced?.id } } });
  });
});

describe('nextBlock', () => {
  it('answers 100 pipelined requests in order, then keeps serving as more arrive', async () => {
    simulator.produceBlocks(150);
    const connection = await connect();
    await connection.request('findIntersection', { points: ['origin'] });
    for (let id = 0; id < 100; id++) connection.send({ method: 'nextBlock', id });
    const answers: Message[] = [];
    for (let count = 0; count < 100; count++) {
      answers.push(parse(await connection.next()));
      connection.send({ method: 'nextBlock', id: 100 + count });
    }
    expect(answers.map((answer) => answer.id)).toEqual([...Array(100).keys()]);
    expect(answers[0]?.result?.direction).toBe('backward');
    const heights = answers.slice(1).map((answer) => answer.result?.block?.height);
    expect(heights).toEqual([...Array(99).keys()]);
    const next = parse(await connection.next());
    expect(next).toMatchObject({ id: 100, result: { block: { height: 99 } } });
  });

  it('gives a client waiting at the tip the next block as soon as it is produced', async () => {
    const connection = await connect();
    await followToTip(connection);
    connection.send({ method: 'nextBlock' });
    expect(await connection.quietFor(50)).toBe(true);

    const [produced] = simulator.produceBlocks(1);
    const answer = parse(await connection.next());
    expect(answer.result).toMatchObject({
      direction: 'forward',
      block: { id: produced?.id, height: produced?.height },
      tip: { id: produced?.id },
    });
  });

  it('after a fork, sends a RollBackward to the fork point (with the new tip), then the new branch', async () => {
    const connection = await connect();
    await followToTip(connection);
    const before = simulator.chain();
    const forkPoint = before[before.length - 4]!;
    for (let id = 0; id < 5; id++) connection.send({ method: 'nextBlock', id });

    simulator.rollBack(3);
    const after = simulator.chain();
    const newTip = after[after.length - 1]!;
    expect(newTip.height).toBe(before[before.length - 1]!.height + 1);

    const rollBack = parse(await connection.next());
    expect(rollBack.result).toEqual({
      direction: 'backward',
      point: { slot: forkPoint.slot, id: forkPoint.id },
      tip: { slot: newTip.slot, id: newTip.id, height: newTip.height },
    });
    const branch = [];
    for (let count = 0; count < 4; count++) branch.push(parse(await connection.next()).result?.block);
    expect(branch.map((block) => block?.id)).toEqual(after.slice(-4).map((block) => block.id));
    expect(branch[0]?.ancestor).toBe(forkPoint.id);
    expect(new Set(branch.map((block) => block?.id)).size).toBe(4);
    expect(before.slice(-3).map((block) => block.id)).not.toContain(branch[0]?.id);
  });

  it('pauses reading beyond maxInFlight waiting requests and answers them all, in order, as blocks come', async () => {
    const small = await startOgmiosSimulator({
      seed: 'in-flight',
      initialBlocks: 3,
      maxInFlight: 4,
      transactionsPerBlock: { min: 0, max: 1 },
    });
    try {
      const connection = await connect(small.url);
      await connection.request('findIntersection', { points: [{ slot: small.chain()[2]!.slot, id: small.chain()[2]!.id }] });
      await connection.request('nextBlock');
      for (let id = 0; id < 20; id++) connection.send({ method: 'nextBlock', id });
      await new Promise((resolve) => setTimeout(resolve, 30));
      small.produceBlocks(20);
      const ids = [];
      for (let count = 0; count < 20; count++) ids.push(parse(await connection.next()).id);
      expect(ids).toEqual([...Array(20).keys()]);
    } finally {
      await small.stop();
    }
  });
});

describe('JSON-RPC envelope', () => {
  it('mirrors ids verbatim: strings, numbers, objects, explicit null, big integers; null when absent', async () => {
    const connection = await connect();
    for (const id of ['abc', 42, { requestId: 'n4n0id' }, { method: 'nested', list: [1, 'two'] }, null]) {
      expect(parse(await connection.request('queryNetwork/tip', undefined, id)).id).toEqual(id);
    }
    connection.send('{"jsonrpc":"2.0","method":"queryNetwork/tip"}');
    expect(parse(await connection.next())).toMatchObject({ method: 'queryNetwork/tip', id: null });
    connection.send('{"jsonrpc":"2.0","method":"queryNetwork/tip","id":123456789012345678901234567890}');
    expect(await connection.next()).toMatch(/,"id":123456789012345678901234567890}$/);
  });

  it('answers malformed and unknown requests with -32600 and no method, and keeps the connection', async () => {
    const connection = await connect();
    connection.send('{"jsonrpc":"2.0","method":"queryNetwork/tip",');
    expect(parse(await connection.next())).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Invalid request: must be a well-formed JSON object.' },
      id: null,
    });
    connection.send('[1,2,3]');
    expect(parse(await connection.next()).error?.code).toBe(-32600);
    connection.send({ method: 'queryNetwork/Tip', id: 'case' });
    expect(parse(await connection.next())).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: "Invalid request: unknown method in 'method' (beware names are case-sensitive)." },
      id: 'case',
    });
    connection.send('{"method":"queryNetwork/tip","id":1}');
    expect(parse(await connection.next())).toMatchObject({ error: { code: -32600 }, id: 1 });
    connection.send({ method: 'findIntersection', params: { points: 'origin' }, id: 'params' });
    const badParams = parse(await connection.next());
    expect(badParams).toMatchObject({ error: { code: -32600 }, id: 'params' });
    expect(badParams.method).toBeUndefined();

    expect(connection.isOpen).toBe(true);
    const tip = simulator.tip();
    expect(parse(await connection.request('queryNetwork/blockHeight')).result).toBe(tip === 'origin' ? 'origin' : tip.height);
  });

  it('answers Ogmios methods it does not implement with -32601 and the method', async () => {
    const connection = await connect();
    const answer = parse(await connection.request('evaluateTransaction', { transaction: { cbor: MINIMAL_TRANSACTION } }));
    expect(answer).toMatchObject({ method: 'evaluateTransaction', error: { code: -32601 }, id: null });
  });
});

describe('submitTransaction', () => {
  it('returns the transaction id (blake2b-256 of the body) and puts the transaction in the next block', async () => {
    const connection = await connect();
    const [funded] = simulator.ledger.utxosAt(WALLET.address);
    const built = signedTransaction({
      inputs: [funded!],
      outputs: [{ address: WALLET.address, lovelace: funded!.lovelace }],
      feeFrom: 0,
      signers: [WALLET],
    });
    const answer = parse(await connection.request('submitTransaction', { transaction: { cbor: built.cbor } }));
    // built.id is the transaction library's own hash of the body bytes.
    expect(answer).toEqual({ jsonrpc: '2.0', method: 'submitTransaction', result: { transaction: { id: built.id } }, id: null });

    const [block] = simulator.produceBlocks(1);
    expect(block?.transactionIds).toContain(built.id);
    expect(block?.injectedTransactionIds).toContain(built.id);
  });

  it('refuses a well-formed transaction that breaks a ledger rule with its Ogmios code and the method', async () => {
    const connection = await connect();
    const answer = parse(await connection.request('submitTransaction', { transaction: { cbor: NO_INPUT_TRANSACTION } }));
    expect(answer).toMatchObject({ method: 'submitTransaction', error: { code: 3121 }, id: null });
  });

  it('answers -32602 with per-era reasons for CBOR that is not a transaction, -32600 for text that is not hex', async () => {
    const connection = await connect();
    const notTransaction = parse(await connection.request('submitTransaction', { transaction: { cbor: '820102' } }));
    expect(notTransaction).toMatchObject({ method: 'submitTransaction', error: { code: -32602 } });
    expect(Object.keys(notTransaction.error?.data ?? {})).toEqual(['shelley', 'allegra', 'mary', 'alonzo', 'babbage', 'conway']);

    const notHex = parse(await connection.request('submitTransaction', { transaction: { cbor: 'xyz' } }));
    expect(notHex.error?.code).toBe(-32600);
    expect(notHex.method).toBeUndefined();
  });
});

describe('connections', () => {
  it('drops every connection like Ogmios losing its node; clients can reconnect', async () => {
    const first = await connect();
    const second = await connect();
    expect(simulator.connectionCount).toBeGreaterThanOrEqual(2);
    expect(simulator.dropConnections()).toBeGreaterThanOrEqual(2);
    const closed = await first.closed;
    expect(closed.code).toBe(1011);
    expect(JSON.parse(closed.reason)).toMatchObject({ code: -32000 });
    await second.closed;

    const again = await connect();
    expect(parse(await again.request('queryNetwork/tip')).result).toEqual({
      slot: (simulator.tip() as { slot: number }).slot,
      id: (simulator.tip() as { id: string }).id,
    });
  });

  it('closes a client whose next block fell out of the retained window; origin no longer intersects', async () => {
    const small = await startOgmiosSimulator({
      seed: 'window',
      initialBlocks: 10,
      retainedBlocks: 10,
      transactionsPerBlock: { min: 0, max: 1 },
    });
    try {
      const connection = await connect(small.url);
      const oldest = small.chain()[0]!;
      await connection.request('findIntersection', { points: [{ slot: oldest.slot, id: oldest.id }] });
      await connection.request('nextBlock');
      small.produceBlocks(15);
      connection.send({ method: 'nextBlock' });
      expect((await connection.closed).code).toBe(1011);

      const fresh = await connect(small.url);
      expect(parse(await fresh.request('findIntersection', { points: ['origin'] })).error?.code).toBe(1000);
      expect(small.chain()).toHaveLength(10);
    } finally {
      await small.stop();
    }
  });
});

describe('HTTP', () => {
  it('serves /health like Ogmios, with a non-null lastTipUpdate', async () => {
    const response = await fetch(`${simulator.httpUrl}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json;charset=utf-8');
    const health = (await response.json()) as Record<string, unknown>;
    expect(health).toMatchObject({ connectionStatus: 'connected', network: 'mainnet', currentEra: 'conway', networkSynchronization: 1 });
    expect(health.lastKnownTip).toEqual(simulator.tip());
    expect(typeof health.lastTipUpdate).toBe('string');
  });

  it('answers a single JSON-RPC request on POST /, with 400 when the answer is an error', async () => {
    const post = (body: string) =>
      fetch(`${simulator.httpUrl}/`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const ok = await post('{"jsonrpc":"2.0","method":"queryNetwork/blockHeight","id":"h"}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      jsonrpc: '2.0',
      method: 'queryNetwork/blockHeight',
      result: (simulator.tip() as { height: number }).height,
      id: 'h',
    });

    const unknown = await post('{"jsonrpc":"2.0","method":"nope"}');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Message).error?.code).toBe(-32600);

    const refused = await post(
      JSON.stringify({ jsonrpc: '2.0', method: 'submitTransaction', params: { transaction: { cbor: NO_INPUT_TRANSACTION } } }),
    );
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Message).error?.code).toBe(3121);
    expect((await fetch(`${simulator.httpUrl}/metrics`)).status).toBe(404);
  });

  it('requires a current API key in the dmtr-api-key header when keys are set, and follows key rotation', async () => {
    const gated = await startOgmiosSimulator({ seed: 'keys', initialBlocks: 1, apiKeys: ['key-one'] });
    try {
      await expect(RawOgmiosConnection.open(gated.url)).rejects.toThrow('HTTP 401');
      await expect(RawOgmiosConnection.open(gated.url, { 'dmtr-api-key': 'wrong' })).rejects.toThrow('HTTP 401');
      const allowed = await RawOgmiosConnection.open(gated.url, { 'dmtr-api-key': 'key-one' });
      connections.push(allowed);
      expect(parse(await allowed.request('queryNetwork/tip')).result).toBeDefined();
      expect((await fetch(`${gated.httpUrl}/health`)).status).toBe(401);
      expect((await fetch(`${gated.httpUrl}/health`, { headers: { 'dmtr-api-key': 'key-one' } })).status).toBe(200);

      gated.setApiKeys(['key-two']);
      await expect(RawOgmiosConnection.open(gated.url, { 'dmtr-api-key': 'key-one' })).rejects.toThrow('HTTP 401');
      connections.push(await RawOgmiosConnection.open(gated.url, { 'dmtr-api-key': 'key-two' }));
      expect(allowed.isOpen).toBe(true);
    } finally {
      await gated.stop();
    }
  });
});
