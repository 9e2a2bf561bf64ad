import { describe, expect, it } from 'vitest';
import { IntersectionNotFoundError, OgmiosProtocolError } from '../../functions/adapters/ogmios/errors.js';
import { encodeRequest, parseResponse, toJsonText } from '../../functions/adapters/ogmios/json-rpc.js';
import { decodeUtxoList } from '../../functions/adapters/ogmios/utxo-decoder.js';
import { decodeTip, encodePoint } from '../../functions/adapters/ogmios/wire-format.js';
import { parseLosslessJson } from '../../functions/domain/ogmios/lossless-json.js';
import { hashOf } from '../support/scripted-ogmios.js';

const MAX_UINT64 = 2n ** 64n - 1n;
const policy = 'a'.repeat(56);

describe('JSON-RPC envelope', () => {
  it('writes requests with bigints as exact bare numbers', () => {
    const point = { slot: MAX_UINT64, hash: hashOf('x') };
    expect(encodeRequest('findIntersection', { points: [encodePoint(point), 'origin'] }, 'id-1')).toBe(
      `{"jsonrpc":"2.0","method":"findIntersection","params":{"points":[{"slot":18446744073709551615,"id":"${point.hash}"},"origin"]},"id":"id-1"}`,
    );
    expect(encodeRequest('nextBlock')).toBe('{"jsonrpc":"2.0","method":"nextBlock"}');
    expect(toJsonText({ text: 'quote " and \u2028', list: [1, 1.5, null, true] })).toBe(
      '{"text":"quote \\" and \u2028","list":[1,1.5,null,true]}',
    );
  });

  it('reads results and errors, with or without method (--strict-rpc)', () => {
    expect(parseResponse('{"jsonrpc":"2.0","method":"queryNetwork/blockHeight","result":18446744073709551615,"id":"a"}')).toEqual({
      method: 'queryNetwork/blockHeight',
      id: 'a',
      result: MAX_UINT64,
    });
    const strict = parseResponse(
      Buffer.from('{"jsonrpc":"2.0","error":{"code":1000,"message":"No intersection found.","data":{"tip":"origin"}},"id":null}'),
    );
    expect(strict).toMatchObject({ method: undefined, id: null, error: { code: 1000, message: 'No intersection found.' } });
  });

  it('rejects what is not a response', () => {
    expect(() => parseResponse('{"jsonrpc":"2.0","method":"nextBlock"')).toThrow(OgmiosProtocolError);
    expect(() => parseResponse('[1]')).toThrow('not a JSON object');
    expect(() => parseResponse('{"jsonrpc":"2.0","id":null}')).toThrow('without result or error');
    expect(() => parseResponse('{"error":{"message":"x"}}')).toThrow('malformed JSON-RPC error');
  });

  it('decodes tips exactly, including beyond 2^53', () => {
    const tip = parseLosslessJson(`{"slot":9007199254740993,"id":"${hashOf('t')}","height":7}`);
    expect(decodeTip(tip, 'tip')).toEqual({ slot: 9_007_199_254_740_993n, hash: hashOf('t'), height: 7n });
    expect(() => decodeTip(parseLosslessJson('{"slot":-1,"id":"x","height":1}'), 'tip')).toThrow('tip.slot is not a non-negative integer');
  });
});

describe('decodeUtxoList', () => {
  it('keeps lovelace and asset quantities exact', () => {
    const txId = hashOf('tx');
    const result = parseLosslessJson(
      `[{"transaction":{"id":"${txId}"},"index":3,"address":"addr_test1xyz","value":{"ada":{"lovelace":${MAX_UINT64}},"${policy}":{"":1,"4d59":${MAX_UINT64}}},"datum":"d87980"}]`,
    );
    expect(decodeUtxoList(result)).toEqual([
      {
        txId,
        index: 3,
        address: 'addr_test1xyz',
        lovelace: MAX_UINT64,
        assets: [
          { policyId: policy, assetName: '', quantity: 1n },
          { policyId: policy, assetName: '4d59', quantity: MAX_UINT64 },
        ],
        datum: 'd87980',
      },
    ]);
  });

  it('refuses malformed entries instead of guessing', () => {
    const entry = (value: string): string => `[{"transaction":{"id":"${hashOf('tx')}"},"index":0,"address":"a","value":${value}}]`;
    expect(() => decodeUtxoList(parseLosslessJson(entry('{"ada":{"lovelace":"5"}}')))).toThrow('lovelace is not a non-negative integer');
    expect(() => decodeUtxoList(parseLosslessJson(entry('{"ada":{"lovelace":5},"nope":{}}')))).toThrow('invalid policy');
    expect(() => decodeUtxoList(parseLosslessJson('{}'))).toThrow('not an array');
  });
});

describe('IntersectionNotFoundError', () => {
  it('names the points tried, in short, and the server tip', () => {
    const points = Array.from({ length: 200 }, (_, index) => ({ slot: BigInt(1_000 - index), hash: hashOf(String(index)) }));
    const error = new IntersectionNotFoundError(
      [
        { round: 'recent', points },
        { round: 'checkpoints', points: [{ slot: 5n, hash: hashOf('c') }] },
      ],
      { slot: 99n, hash: hashOf('tip'), height: 9n },
      ['wss://***.mainnet-v6.ogmios-m1.demeter.run'],
      false,
    );
    expect(error.pointsTried).toHaveLength(201);
    expect(error.message).toContain('tried 201 point(s): recent [1000.');
    expect(error.message).toContain('… 197 more …, 801.');
    expect(error.message).toContain(`then checkpoints [5.${hashOf('c')}] (origin not allowed)`);
    expect(error.message).toContain(`the server's tip is 99.${hashOf('tip')} (height 9)`);
    expect(error.message).toContain('wss://***.mainnet-v6');
  });
});
