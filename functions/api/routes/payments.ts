/**
 * GET /v1/payments (filters; keyset pages on the row id, each filter served by an index ending with id) and
 * GET /v1/payments/{tx_hash}/{output_index} (every row of the output).
 */
import { createHash } from 'node:crypto';
import { type PaymentResourceRow, paymentResource } from '../../domain/payment-resource.js';
import { json, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { badRequest, notFound } from '../problem.js';

const COLUMNS = `id, tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id, user_id,
  block_height, block_slot, block_hash, block_time, status, detected_at, confirmed_at, spent_by_tx_hash, spent_at_slot`;

type PaymentRow = PaymentResourceRow & { id: bigint };

function statementName(prefix: string, text: string): string {
  return `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
}

export const paymentRoutes: RouteModule = {
  listPayments: {
    kind: 'read',
    async handle(request, context) {
      const { query } = request;
      const limit = (query.limit as number | undefined) ?? DEFAULT_LIMIT;
      if (query.reference_id !== undefined && query.reference_type === undefined) {
        throw badRequest('reference_id needs reference_type.', [{ field: 'reference_id', message: 'requires reference_type' }]);
      }
      const position = decodeCursor(query.cursor, ['id']);
      const conditions: string[] = [];
      const values: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        values.push(value);
        conditions.push(sql.replace('?', `$${values.length}`));
      };
      for (const column of ['status', 'address', 'reference_type', 'reference_id', 'user_id'] as const) {
        if (query[column] !== undefined) add(`${column} = ?`, query[column]);
      }
      // The partition key: months before `since` are not read at all.
      if (query.since !== undefined) add('block_time >= ?::timestamptz', query.since);
      if (position) add('id > ?', cursorId(position.id));
      // The limit is written into the statement (a whole number the document bounds): a plan made for an unknown
      // limit would not know that a page is a few rows of a large table.
      const text = `SELECT ${COLUMNS} FROM incoming_payments
          ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY id LIMIT ${Number(limit) + 1}`;
      // A named statement per filter combination: each connection plans it once instead of at every request (over a
      // table with a partition per month, planning is most of a page's time); values are still parameters.
      const { rows } = await context.pool.query<PaymentRow>({ name: statementName('list_payments', text), text, values });
      return json(
        200,
        pageOf(rows, limit, paymentResource, (row) => ({ id: row.id.toString() })),
      );
    },
  },

  getPaymentOutput: {
    kind: 'read',
    async handle(request, context) {
      const { tx_hash: txHash, output_index: outputIndex } = request.pathParams;
      const { rows } = await context.pool.query<PaymentRow>(
        `SELECT ${COLUMNS} FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2 ORDER BY id`,
        [txHash, outputIndex],
      );
      if (rows.length === 0) throw notFound(`No payment for output ${txHash}#${outputIndex}.`);
      return json(200, { data: rows.map(paymentResource) });
    },
  },
};
