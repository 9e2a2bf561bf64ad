import { afterEach, describe, expect, it } from 'vitest';
import { OgmiosConnectError, OgmiosRpcError } from '../../functions/adapters/ogmios/errors.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { secretApiKeys } from '../../functions/adapters/ogmios/secret-api-keys.js';
import { CachedSecret } from '../../functions/adapters/secrets/cached-secret.js';
import { ogmiosEndpoints, readOgmiosSettings } from '../../functions/config/ogmios-settings.js';
import { RecordingLogger } from '../support/recorders.js';
import { hashOf, pointOf, refusingUrl, scriptedChain, ScriptedOgmios } from '../support/scripted-ogmios.js';

const servers: ScriptedOgmios[] = [];
const clients: LedgerStateClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setUp(urls?: (server: ScriptedOgmios) => string[], apiKeys: string[] = []) {
  const server = await ScriptedOgmios.start(scriptedChain(7));
  servers.push(server);
  const logger = new RecordingLogger();
  const client = new LedgerStateClient({
    urls: urls?.(server) ?? [server.url],
    apiKeys,
    logger,
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 1_000,
  });
  clients.push(client);
  return { server, client, logger };
}

const MAX_UINT64 = 2n ** 64n - 1n;

describe('LedgerStateClient', () => {
  it('reads the network tip and block height', async () => {
    const { server, client } = await setUp();
    expect(await client.networkTip()).toEqual(pointOf(server.chain[6]!));
    expect(await client.networkBlockHeight()).toBe(7n);
    server.chain = [];
    expect(await client.networkTip()).toBe('origin');
    expect(await client.networkBlockHeight()).toBe('origin');
    expect(server.connections).toHaveLength(1);
  });

  it('queries UTxO by address or output reference, with exact amounts', async () => {
    const { server, client } = await setUp();
    const txId = hashOf('funding');
    server.utxoResult = `[{"transaction":{"id":"${txId}"},"index":1,"address":"addr_test1abc","value":{"ada":{"lovelace":${MAX_UINT64}}}}]`;
    expect(await client.utxoByAddresses(['addr_test1abc'])).toEqual([
      { txId, index: 1, address: 'addr_test1abc', lovelace: MAX_UINT64, assets: [] },
    ]);
    await client.utxoByOutputReferences([{ txId, index: 1 }]);
    expect(server.utxoQueries).toEqual([{ addresses: ['addr_test1abc'] }, { outputReferences: [{ transaction: { id: txId }, index: 1 }] }]);
  });

  it('never asks for the whole UTxO set', async () => {
    const { server, client } = await setUp();
    expect(await client.utxoByAddresses([])).toEqual([]);
    expect(await client.utxoByOutputReferences([])).toEqual([]);
    expect(server.utxoQueries).toEqual([]);
    expect(server.connections).toHaveLength(0);
  });

  it('reports JSON-RPC errors with their code', async () => {
    const { server, client } = await setUp();
    server.queryError = {
      code: 2001,
      message: 'Era mismatch between query and ledger.',
      data: { ledgerEra: 'shelley', queryEra: 'byron' },
    };
    const error = await client.networkTip().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OgmiosRpcError);
    expect(error).toMatchObject({ code: 2001, method: 'queryNetwork/tip', data: { ledgerEra: 'shelley' } });
  });

  it('reconnects on demand when the server closed the connection', async () => {
    const { server, client } = await setUp();
    await client.networkTip();
    server.dropAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.connections).toHaveLength(2);
  });

  it('refuses queries once closed, without reconnecting', async () => {
    const { server, client } = await setUp();
    await client.networkTip();
    await client.close();
    await expect(client.networkTip()).rejects.toThrow('closed');
    expect(server.connections).toHaveLength(1);
  });

  it('shares one connection between concurrent queries', async () => {
    const { server, client } = await setUp();
    const results = await Promise.all([client.networkTip(), client.networkBlockHeight(), client.networkBlockHeight()]);
    expect(results[1]).toBe(7n);
    expect(server.connections).toHaveLength(1);
  });

  it('fails over and rotates keys like the chain-sync client, without revealing them', async () => {
    const primary = 'dmtr_ogmios1ledgerprimary00000000000';
    const secondary = 'dmtr_ogmios1ledgersecondary000000000';
    const refusing = await refusingUrl();
    const { server, client, logger } = await setUp((scripted) => [refusing, scripted.url], [primary, secondary]);
    server.requiredApiKey = secondary;
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.upgradeApiKeys).toEqual([primary, secondary]);

    server.requiredApiKey = 'something else';
    server.dropAll();
    const error = await client.networkTip().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OgmiosConnectError);
    const everything = JSON.stringify([logger.entries, (error as Error).message]);
    expect(everything).not.toContain(primary);
    expect(everything).not.toContain(secondary);
  });

  it('reads keys kept in a secret when it connects, and again when the provider refuses them: a rotated key needs no restart', async () => {
    const server = await ScriptedOgmios.start(scriptedChain(7));
    servers.push(server);
    const secretId = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:ogmios';
    const stored: { primary: string } = { primary: 'dmtr_ogmios1rotationold0000000000000' };
    const reads: string[] = [];
    const readSecret = async (id: string) => {
      reads.push(id);
      return { ...stored };
    };
    const logger = new RecordingLogger();
    const endpoints = ogmiosEndpoints(readOgmiosSettings({ OGMIOS_URL: server.url, OGMIOS_API_KEYS_SECRET_ARN: secretId }), readSecret);
    const client = new LedgerStateClient({ ...endpoints, logger, connectTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    clients.push(client);
    const old = stored.primary;
    server.requiredApiKey = old;
    expect(await client.networkBlockHeight()).toBe(7n);

    // The key is rotated at the provider and in the secret; the open connection goes.
    stored.primary = 'dmtr_ogmios1rotationnew0000000000000';
    server.requiredApiKey = stored.primary;
    server.dropAll();
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.upgradeApiKeys).toEqual([old, old, stored.primary]);
    expect(reads).toEqual([secretId, secretId]);
    expect(JSON.stringify(logger.entries)).not.toMatch(/rotation(old|new)/);
  });

  it('does not keep a connection opened keyless (or with a replaced key) once the secret holds a new key', async () => {
    const server = await ScriptedOgmios.start(scriptedChain(7));
    servers.push(server);
    const stored = { primary: '', secondary: '' };
    // No cache: every check reads the secret (the Lambdas keep it 5 minutes, so the connection is renewed within those).
    const secret = new CachedSecret({ secretId: 'ogmios', readSecret: async () => ({ ...stored }), ttlMs: 0 });
    const logger = new RecordingLogger();
    const client = new LedgerStateClient({
      urls: [server.url],
      apiKeys: secretApiKeys(secret),
      logger,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    });
    clients.push(client);
    // The secret is still empty and this relay lets a keyless connection in: it is kept open between queries.
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.upgradeApiKeys).toEqual([undefined]);

    // The operator fills the secret: the next query opens a connection with the key instead of reusing the keyless one.
    stored.primary = 'dmtr_ogmios1filledlater000000000000';
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.upgradeApiKeys).toEqual([undefined, stored.primary]);
    expect(logger.entries.some((entry) => entry.event === 'ogmios_keys_changed')).toBe(true);

    // Unchanged keys keep the connection; a replaced key renews it once more.
    expect(await client.networkBlockHeight()).toBe(7n);
    stored.primary = 'dmtr_ogmios1replaced0000000000000000';
    expect(await client.networkBlockHeight()).toBe(7n);
    expect(server.upgradeApiKeys).toEqual([undefined, 'dmtr_ogmios1filledlater000000000000', stored.primary]);
    expect(JSON.stringify(logger.entries)).not.toMatch(/filledlater|replaced0/);
  });
});
