/**
 * Ogmios v6 `queryLedgerState/protocolParameters` into the builder's ProtocolParameters: every success vector of
 * the Ogmios test suite (synthetic values, exact shapes), the simulator's answer, the refusals, and the query
 * through the ledger-state client against a scripted Ogmios.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OgmiosProtocolError, OgmiosRpcError } from '../../functions/adapters/ogmios/errors.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { decodeProtocolParameters } from '../../functions/adapters/ogmios/protocol-parameters.js';
import { type JsonObject, type JsonValue, parseLosslessJson } from '../../functions/domain/ogmios/lossless-json.js';
import { writeJson } from '../../functions/local/simulator/json-writer.js';
import { PROTOCOL_PARAMETERS } from '../../functions/local/simulator/index.js';
import { protocolParametersJson } from '../../functions/local/simulator/protocol-parameters.js';
import { RecordingLogger } from '../support/recorders.js';
import { ScriptedOgmios, scriptedChain } from '../support/scripted-ogmios.js';
import { OGMIOS_DIR, requireShared } from '../support/shared-files.js';

const VECTORS = requireShared(`${OGMIOS_DIR}/vectors/statequery/QueryLedgerStateProtocolParameters`);

function vectors(): { file: string; message: JsonObject }[] {
  return readdirSync(VECTORS)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, message: parseLosslessJson(readFileSync(path.join(VECTORS, file), 'utf8')) as JsonObject }));
}

/** The same numbers read independently: JSON.parse is exact for these (all below 2^53). */
function expectedOf(file: string) {
  const result = JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')).result;
  return {
    minFeeCoefficient: BigInt(result.minFeeCoefficient),
    minFeeConstant: BigInt(result.minFeeConstant.ada.lovelace),
    maxTransactionSize: result.maxTransactionSize.bytes,
    maxValueSize: result.maxValueSize.bytes,
    minUtxoDepositCoefficient: BigInt(result.minUtxoDepositCoefficient),
  };
}

const MAINNET_LIKE = {
  minFeeCoefficient: 44,
  minFeeConstant: { ada: { lovelace: 155_381 } },
  maxTransactionSize: { bytes: 16_384 },
  maxValueSize: { bytes: 5000 },
  minUtxoDepositCoefficient: 4310,
};

const parse = (value: unknown): JsonValue => parseLosslessJson(JSON.stringify(value));

describe('Ogmios protocol parameters', () => {
  it('decodes every success vector of the Ogmios test suite', () => {
    const successes = vectors().filter(({ message }) => message.result !== undefined);
    expect(successes.length).toBeGreaterThanOrEqual(27);
    for (const { file, message } of successes) {
      expect(decodeProtocolParameters(message.result as JsonValue), file).toEqual(expectedOf(file));
    }
  });

  it("decodes the simulator's answer to the numbers its submission rules judge by", () => {
    expect(decodeProtocolParameters(parseLosslessJson(writeJson(protocolParametersJson())))).toEqual(PROTOCOL_PARAMETERS);
  });

  it('keeps integers above 2^53 exact', () => {
    const big = 2n ** 64n - 1n;
    const text = `{"minFeeCoefficient":${big},"minFeeConstant":{"ada":{"lovelace":${big}}},"maxTransactionSize":{"bytes":16384},"maxValueSize":{"bytes":5000},"minUtxoDepositCoefficient":${big - 1n}}`;
    expect(decodeProtocolParameters(parseLosslessJson(text))).toMatchObject({
      minFeeCoefficient: big,
      minFeeConstant: big,
      minUtxoDepositCoefficient: big - 1n,
    });
  });

  it.each([
    [
      'a missing field (an era before Babbage)',
      { ...MAINNET_LIKE, minUtxoDepositCoefficient: undefined },
      /has no minUtxoDepositCoefficient/,
    ],
    ['a missing size', { ...MAINNET_LIKE, maxValueSize: undefined }, /has no maxValueSize/],
    ['lovelace as a bare number', { ...MAINNET_LIKE, minFeeConstant: 155_381 }, /minFeeConstant is not \{"ada":\{"lovelace"/],
    ['lovelace with a token', { ...MAINNET_LIKE, minFeeConstant: { ada: { lovelace: 1 }, ab: {} } }, /minFeeConstant is not/],
    ['a size as a bare number', { ...MAINNET_LIKE, maxTransactionSize: 16_384 }, /maxTransactionSize is not \{"bytes"/],
    ['a zero size', { ...MAINNET_LIKE, maxTransactionSize: { bytes: 0 } }, /maxTransactionSize.bytes 0 is not a size/],
    ['a negative coefficient', { ...MAINNET_LIKE, minFeeCoefficient: -1 }, /minFeeCoefficient is not a non-negative integer/],
    ['a fraction', { ...MAINNET_LIKE, minUtxoDepositCoefficient: 4310.5 }, /minUtxoDepositCoefficient is not a non-negative integer/],
    ['a string', { ...MAINNET_LIKE, minFeeCoefficient: '44' }, /minFeeCoefficient is not a non-negative integer/],
  ])('refuses %s, naming the field', (_name, result, message) => {
    const decode = () => decodeProtocolParameters(parse(result));
    expect(decode).toThrow(OgmiosProtocolError);
    expect(decode).toThrow(message);
  });

  it('refuses a result that is not an object', () => {
    expect(() => decodeProtocolParameters(parse([1, 2]))).toThrow(/result is not an object/);
  });

  describe('through the ledger-state client', () => {
    const servers: ScriptedOgmios[] = [];
    const clients: LedgerStateClient[] = [];
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    async function setUp() {
      const server = await ScriptedOgmios.start(scriptedChain(2));
      servers.push(server);
      const client = new LedgerStateClient({
        urls: [server.url],
        apiKeys: [],
        logger: new RecordingLogger(),
        connectTimeoutMs: 1000,
        requestTimeoutMs: 5000,
      });
      clients.push(client);
      return { server, client };
    }

    it('queries and decodes the parameters (a vector answer, read as sent)', async () => {
      const { server, client } = await setUp();
      const file = '000.json';
      server.protocolParametersResult = JSON.stringify(JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')).result);
      expect(await client.protocolParameters()).toEqual(expectedOf(file));
    });

    it('passes on a JSON-RPC error (2001 era mismatch) with its code', async () => {
      const { server, client } = await setUp();
      server.queryError = {
        code: 2001,
        message: 'Era mismatch between query and ledger.',
        data: { ledgerEra: 'byron', queryEra: 'conway' },
      };
      const error = await client.protocolParameters().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(OgmiosRpcError);
      expect(error).toMatchObject({ code: 2001, method: 'queryLedgerState/protocolParameters' });
    });
  });
});
