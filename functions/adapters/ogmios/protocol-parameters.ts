/**
 * The protocol parameters a payout transaction needs, from Ogmios v6's `queryLedgerState/protocolParameters`
 * (cardano.json#/definitions/ProtocolParameters): `minFeeCoefficient` and `minUtxoDepositCoefficient` are plain
 * integers, `minFeeConstant` is lovelace (`{"ada":{"lovelace":n}}`), the two sizes are `{"bytes":n}`. Integers may
 * be above 2^53 (the lossless parser gives bigints): they are never rounded.
 *
 * `maxValueSize` exists from Alonzo on and the deposit per byte from Babbage on: an older era's answer is refused
 * with an error naming the missing field, as is any field of another shape.
 */
import type { JsonValue } from '../../domain/ogmios/lossless-json.js';
import type { ProtocolParameters } from '../../domain/payouts/transaction-builder.js';
import { OgmiosProtocolError } from './errors.js';
import { isObject } from './json-rpc.js';
import { decodeUnsigned } from './wire-format.js';

export const PROTOCOL_PARAMETERS_QUERY = 'queryLedgerState/protocolParameters';

const WHAT = `${PROTOCOL_PARAMETERS_QUERY} result`;

/** Sizes are bytes within a 32-bit count (CSL's config takes them as u32). */
const MAX_SIZE = 0xffff_ffffn;

export function decodeProtocolParameters(result: JsonValue): ProtocolParameters {
  if (!isObject(result)) throw new OgmiosProtocolError(`${WHAT} is not an object`);
  return {
    minFeeCoefficient: integer(result, 'minFeeCoefficient'),
    minFeeConstant: lovelace(result, 'minFeeConstant'),
    maxTransactionSize: size(result, 'maxTransactionSize'),
    maxValueSize: size(result, 'maxValueSize'),
    minUtxoDepositCoefficient: integer(result, 'minUtxoDepositCoefficient'),
  };
}

function field(result: { [key: string]: JsonValue | undefined }, name: string): JsonValue {
  const value = result[name];
  if (value === undefined) throw new OgmiosProtocolError(`${WHAT} has no ${name} (an era before Babbage?)`);
  return value;
}

function integer(result: { [key: string]: JsonValue | undefined }, name: string): bigint {
  return decodeUnsigned(field(result, name), `${WHAT}.${name}`);
}

function lovelace(result: { [key: string]: JsonValue | undefined }, name: string): bigint {
  const value = field(result, name);
  const ada = isObject(value) ? value.ada : undefined;
  if (
    !isObject(value) ||
    !isObject(ada) ||
    Object.keys(value).length !== 1 ||
    Object.keys(ada).length !== 1 ||
    ada.lovelace === undefined
  ) {
    throw new OgmiosProtocolError(`${WHAT}.${name} is not {"ada":{"lovelace":<integer>}}`);
  }
  return decodeUnsigned(ada.lovelace, `${WHAT}.${name}.ada.lovelace`);
}

function size(result: { [key: string]: JsonValue | undefined }, name: string): number {
  const value = field(result, name);
  if (!isObject(value) || value.bytes === undefined || Object.keys(value).length !== 1) {
    throw new OgmiosProtocolError(`${WHAT}.${name} is not {"bytes":<integer>}`);
  }
  const bytes = decodeUnsigned(value.bytes, `${WHAT}.${name}.bytes`);
  if (bytes === 0n || bytes > MAX_SIZE) throw new OgmiosProtocolError(`${WHAT}.${name}.bytes ${bytes} is not a size`);
  return Number(bytes);
}
