/**
 * POST /v1/invoices (write; the address given or derived from an account key, all in the request's transaction),
 * GET /v1/invoices/{id}, GET /v1/invoices?status=…&reference_id=… (newest first). The resource is
 * invoiceResource(), the same object the invoice's events carry.
 */
import { newInvoiceId, PostgresInvoiceBook } from '../../adapters/postgres/invoice-book.js';
import { INVOICE_COLUMNS, type InvoiceRow, invoiceFromRow, onChainInvoicePayments } from '../../adapters/postgres/invoice-rows.js';
import { newestFirstPage } from '../../adapters/postgres/newest-first-page.js';
import { InvalidRegistrationError, validateRegistrations } from '../../domain/address-registration.js';
import { type AmountRequest, createInvoice, InvoiceConflictError, InvoiceRequestError } from '../../domain/invoices/invoice-creation.js';
import { invoiceResource } from '../../domain/invoices/invoice-resource.js';
import { json, type Queryable, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { ApiProblem, notFound, unprocessable } from '../problem.js';

/** The `type` of a 409 problem of invoice creation: `urn:payment-monitor:problem:<code>`. */
export function problemType(code: string): string {
  return `urn:payment-monitor:problem:${code}`;
}

interface InvoiceBody {
  reference_id: string;
  amount: AmountRequest;
  expires_in_seconds: number;
  confirmations?: number;
  address?: string;
  user_id?: string | null;
  account_id?: string;
}

async function resources(db: Queryable, rows: InvoiceRow[]) {
  const payments = await onChainInvoicePayments(
    db,
    rows.map((row) => row.id),
  );
  return new Map(rows.map((row) => [row.id, invoiceResource(invoiceFromRow(row), payments.get(row.id) ?? [])]));
}

export const invoiceRoutes: RouteModule = {
  createInvoice: {
    kind: 'write',
    async handle(db, request, context) {
      const body = request.body as InvoiceBody;
      try {
        const invoice = await createInvoice(
          {
            referenceId: body.reference_id,
            amount: body.amount,
            expiresInSeconds: body.expires_in_seconds,
            ...(body.confirmations === undefined ? {} : { confirmations: body.confirmations }),
            ...(body.address === undefined ? {} : { address: body.address }),
            ...(body.account_id === undefined ? {} : { accountId: body.account_id }),
            userId: body.user_id ?? null,
          },
          request.principal.keyId,
          {
            book: new PostgresInvoiceBook(db, context.network),
            settings: { network: context.network, ...context.invoices },
            now: context.clock.now(),
            newInvoiceId,
            validateAddress: (registration) => {
              try {
                return validateRegistrations([registration], context.network, {
                  referenceType: 'reference_type',
                  referenceId: 'reference_id',
                  userId: 'user_id',
                })[0]!;
              } catch (error) {
                if (!(error instanceof InvalidRegistrationError)) throw error;
                throw new InvoiceRequestError([
                  { field: error.reason.startsWith('user_id') ? 'user_id' : 'address', message: error.reason },
                ]);
              }
            },
          },
        );
        return json(201, invoice);
      } catch (error) {
        if (error instanceof InvoiceRequestError) throw unprocessable(error.message, error.problems);
        if (error instanceof InvoiceConflictError) {
          throw new ApiProblem(
            409,
            error.message,
            error.field === undefined ? undefined : [{ field: error.field, message: error.code }],
            problemType(error.code),
          );
        }
        throw error;
      }
    },
  },

  getInvoice: {
    kind: 'read',
    async handle(request, context) {
      const id = String(request.pathParams.id);
      const { rows } = await context.pool.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1`, [id]);
      if (!rows[0]) throw notFound(`No invoice ${id}.`);
      return json(200, (await resources(context.pool, rows)).get(id));
    },
  },

  listInvoices: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['created_us', 'id']);
      const rows = await newestFirstPage<InvoiceRow>(context.pool, {
        table: 'invoices',
        columns: INVOICE_COLUMNS,
        filters: { status: request.query.status, reference_id: request.query.reference_id, user_id: request.query.user_id },
        limit,
        ...(position ? { position: { createdUs: cursorId(position.created_us), id: position.id } } : {}),
      });
      const kept = rows.slice(0, limit);
      const byId = await resources(context.pool, kept);
      return json(
        200,
        pageOf(
          rows,
          limit,
          (row) => byId.get(row.id)!,
          (row) => ({ created_us: row.created_us.toString(), id: row.id }),
        ),
      );
    },
  },
};
