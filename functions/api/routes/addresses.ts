/** POST /v1/addresses (one, or up to 1,000 all or nothing), GET /v1/addresses. Validated as the CLI validates. */
import { registerValidAddresses } from '../../adapters/postgres/address-registry.js';
import {
  AddressAlreadyRegisteredError,
  type AddressRegistration,
  InvalidRegistrationError,
  type RegistrationFieldNames,
  validateRegistrations,
} from '../../domain/address-registration.js';
import { json, type Queryable, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { type FieldError, unprocessable } from '../problem.js';

const NAMES: RegistrationFieldNames = { referenceType: 'reference_type', referenceId: 'reference_id', userId: 'user_id' };

interface RegistrationBody {
  address: string;
  reference_type: string;
  reference_id: string;
  user_id?: string | null;
}

interface AddressRow {
  id: bigint;
  address: string;
  reference_type: string;
  reference_id: string;
  user_id: string | null;
  created_at: Date;
}

function addressResource(row: AddressRow) {
  return {
    address: row.address,
    reference_type: row.reference_type,
    reference_id: row.reference_id,
    user_id: row.user_id,
    created_at: row.created_at.toISOString(),
  };
}

/** The field a registration problem is about: the reason names it (the CLI's rules, in the API's names). */
function problemField(path: string, reason: string): string {
  for (const name of Object.values(NAMES)) if (reason.startsWith(name)) return `${path}${name}`;
  return `${path}address`;
}

/** Every registration checked on its own first, so each bad one is named with its place in the request. */
function validate(items: RegistrationBody[], network: Parameters<typeof validateRegistrations>[1], batch: boolean) {
  const registrations: AddressRegistration[] = items.map((item) => ({
    address: item.address,
    referenceType: item.reference_type,
    referenceId: item.reference_id,
    userId: item.user_id ?? null,
  }));
  const errors: FieldError[] = [];
  registrations.forEach((registration, index) => {
    try {
      validateRegistrations([registration], network, NAMES);
    } catch (error) {
      if (!(error instanceof InvalidRegistrationError)) throw error;
      if (errors.length < 100)
        errors.push({ field: problemField(batch ? `addresses[${index}].` : '', error.reason), message: error.reason });
    }
  });
  if (errors.length > 0) throw unprocessable('Nothing was registered: a registration is invalid.', errors);
  try {
    return validateRegistrations(registrations, network, NAMES);
  } catch (error) {
    if (!(error instanceof InvalidRegistrationError)) throw error;
    const index = registrations.findLastIndex((r) => r.address === error.address);
    throw unprocessable('Nothing was registered: a registration is invalid.', [
      { field: batch ? `addresses[${Math.max(index, 0)}].address` : 'address', message: error.reason },
    ]);
  }
}

async function addressesOf(db: Queryable, addresses: string[]): Promise<AddressRow[]> {
  const { rows } = await db.query<AddressRow>(
    'SELECT id, address, reference_type, reference_id, user_id, created_at FROM payment_addresses WHERE address = ANY($1::text[])',
    [addresses],
  );
  const byAddress = new Map(rows.map((row) => [row.address, row]));
  return [...new Set(addresses)].map((address) => byAddress.get(address)!);
}

export const addressRoutes: RouteModule = {
  registerAddresses: {
    kind: 'write',
    async handle(db, request, context) {
      const body = request.body as RegistrationBody | { addresses: RegistrationBody[] };
      const batch = 'addresses' in body;
      const items = batch ? body.addresses : [body];
      const valid = validate(items, context.network, batch);
      let result: Awaited<ReturnType<typeof registerValidAddresses>>;
      try {
        result = await registerValidAddresses(db, valid, request.principal.keyId);
      } catch (error) {
        if (!(error instanceof AddressAlreadyRegisteredError)) throw error;
        const index = valid.findIndex((r) => r.address === error.address);
        throw unprocessable('Nothing was registered: an address is already registered to another reference.', [
          { field: batch ? `addresses[${index}].address` : 'address', message: error.message },
        ]);
      }
      const rows = await addressesOf(
        db,
        valid.map((r) => r.address),
      );
      return json(201, { registered: result.registered, unchanged: result.unchanged, data: rows.map(addressResource) });
    },
  },

  listAddresses: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['id']);
      const conditions: string[] = [];
      const values: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        values.push(value);
        conditions.push(sql.replace('?', `$${values.length}`));
      };
      for (const column of ['reference_type', 'reference_id', 'user_id'] as const) {
        if (request.query[column] !== undefined) add(`${column} = ?`, request.query[column]);
      }
      if (position) add('id > ?', cursorId(position.id));
      values.push(limit + 1);
      const { rows } = await context.pool.query<AddressRow>(
        `SELECT id, address, reference_type, reference_id, user_id, created_at FROM payment_addresses
          ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY id LIMIT $${values.length}`,
        values,
      );
      return json(
        200,
        pageOf(rows, limit, addressResource, (row) => ({ id: row.id.toString() })),
      );
    },
  },
};
