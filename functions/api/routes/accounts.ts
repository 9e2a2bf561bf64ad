/**
 * POST /v1/accounts (admin): a CIP-1852 account PUBLIC key, watch-only, from which invoices derive their addresses;
 * GET /v1/accounts, GET /v1/accounts/{id}. A private key, or anything that is not an account public key, is refused
 * (422 naming public_key; the message never repeats the text); the same key twice is a 409.
 */
import {
  ACCOUNT_KEY_COLUMNS,
  AccountKeyExistsError,
  type AccountKeyRow,
  accountResource,
  registerAccountKey,
} from '../../adapters/postgres/account-keys.js';
import { type AccountPublicKey, deriveAddress, parseAccountPublicKey } from '../../domain/address/account-key.js';
import { DecodeError } from '../../domain/address/decode-error.js';
import { DEFAULT_GAP_LIMIT } from '../../domain/invoices/invoice-creation.js';
import type { Network } from '../../domain/network.js';
import { json, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { ApiProblem, notFound, unprocessable } from '../problem.js';

function resourceOf(row: AccountKeyRow, network: Network) {
  return accountResource(row, deriveAddress(parseAccountPublicKey(row.public_key), 0, network));
}

export const accountRoutes: RouteModule = {
  registerAccount: {
    kind: 'write',
    async handle(db, request, context) {
      const body = request.body as { public_key: string; name?: string | null; gap_limit?: number };
      let key: AccountPublicKey;
      try {
        key = parseAccountPublicKey(body.public_key);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        throw unprocessable('The account key was not registered.', [{ field: 'public_key', message: error.message }]);
      }
      try {
        const account = await registerAccountKey(db, key, {
          name: body.name ?? null,
          gapLimit: body.gap_limit ?? DEFAULT_GAP_LIMIT,
          actor: request.principal.keyId,
          network: context.network,
        });
        return json(201, account);
      } catch (error) {
        if (!(error instanceof AccountKeyExistsError)) throw error;
        throw new ApiProblem(409, error.message, [{ field: 'public_key', message: `is already registered as ${error.existingId}` }]);
      }
    },
  },

  listAccounts: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['created_us', 'id']);
      const { rows } = await context.pool.query<AccountKeyRow & { created_us: bigint }>(
        `SELECT ${ACCOUNT_KEY_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us FROM account_keys
          WHERE $1::bigint IS NULL OR (created_at, id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text)
          ORDER BY created_at, id LIMIT $3`,
        [position ? cursorId(position.created_us) : null, position?.id ?? null, limit + 1],
      );
      return json(
        200,
        pageOf(
          rows,
          limit,
          (row) => resourceOf(row, context.network),
          (row) => ({ created_us: row.created_us.toString(), id: row.id }),
        ),
      );
    },
  },

  getAccount: {
    kind: 'read',
    async handle(request, context) {
      const id = String(request.pathParams.id);
      const { rows } = await context.pool.query<AccountKeyRow>(`SELECT ${ACCOUNT_KEY_COLUMNS} FROM account_keys WHERE id = $1`, [id]);
      if (!rows[0]) throw notFound(`No account ${id}.`);
      return json(200, resourceOf(rows[0], context.network));
    },
  },
};
