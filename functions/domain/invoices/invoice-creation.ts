/**
 * Creating an invoice (issue 15): its terms checked, its address chosen, and everything written in the caller's ONE
 * transaction through the `InvoiceBook` port (functions/adapters/postgres/invoice-book.ts):
 *
 * - an address given: a valid address of the network, not registered to anything yet (an invoice never shares its
 *   address: `address_in_use`);
 * - otherwise derived from an account key (the one named, or the oldest), locked while the address is chosen: the
 *   next index, but only within the gap limit of the highest index whose address holds a payment on the chain, since a
 *   wallet restored from the seed stops scanning after `gap_limit` unused addresses and would not find funds beyond
 *   (`gap_limit_reached`). An address is never handed out twice: a payment that comes late to an old invoice's address
 *   must never be taken for a payment of a new one (to another user).
 *
 * The address is registered FIRST (its registration takes the chain position FOR SHARE, and a writer that takes it
 * takes it before its first event), then the invoice, then `invoice.created` and the audit row.
 */
import type { AddressRegistration } from '../address-registration.js';
import type { Network } from '../network.js';
import { type InvoiceRecord, invoiceResource, type InvoiceResource, notYetJudged } from './invoice-resource.js';
import { type Asset, LOVELACE } from './invoice-rules.js';

export const MIN_EXPIRES_IN_SECONDS = 60;
export const MAX_EXPIRES_IN_SECONDS = 30 * 24 * 3600;
export const MIN_INVOICE_CONFIRMATIONS = 1;
/** k, the deepest rollback Cardano allows: deeper asks nothing more. */
export const MAX_INVOICE_CONFIRMATIONS = 2160;
export const DEFAULT_INVOICE_MONITORING_MINUTES = 1440;
export const MAX_INVOICE_MONITORING_MINUTES = 30 * 24 * 60;
export const DEFAULT_GAP_LIMIT = 20;
export const MAX_QUANTITY = 2n ** 64n - 1n;
/** At most this many tokens in one invoice (a transaction output holds far fewer in practice). */
export const MAX_INVOICE_ASSETS = 100;
/** reference_id and user_id, as an address registration's references. */
const MAX_TEXT_LENGTH = 200;

const ASSET_KEY = /^[0-9a-f]{56}\.(?:[0-9a-f]{2}){0,32}$/;
const QUANTITY = /^(?:0|[1-9][0-9]*)$/;

/** A refused request: each problem names its field (the API's names: `amount.assets.<asset>`, `account_id`…). */
export class InvoiceRequestError extends Error {
  override readonly name = 'InvoiceRequestError';
  constructor(
    readonly problems: readonly { field: string; message: string }[],
    detail = 'The invoice was not created: the request is invalid.',
  ) {
    super(detail);
  }
}

/** The state does not allow the invoice (a 409): `code` names the kind, the message says why and what to do. */
export class InvoiceConflictError extends Error {
  override readonly name = 'InvoiceConflictError';
  constructor(
    readonly code: 'address_in_use' | 'gap_limit_reached',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface AmountRequest {
  lovelace?: string;
  assets?: Record<string, string>;
}

/**
 * The asked amount from the request's decimal strings: lovelace 0 … 2^64−1 (0 or absent only when tokens are asked),
 * each token `<56 hex policy>.<0–64 hex name, even length>` in lower case with 1 … 2^64−1.
 */
export function parseInvoiceAmount(request: AmountRequest, field = 'amount'): Map<Asset, bigint> {
  const problems: { field: string; message: string }[] = [];
  const amount = new Map<Asset, bigint>();
  const quantity = (text: unknown, where: string, allowZero: boolean): bigint | undefined => {
    if (typeof text !== 'string' || !QUANTITY.test(text) || text.length > 20) {
      problems.push({ field: where, message: 'must be a whole number as a decimal string, e.g. "12500000"' });
      return undefined;
    }
    const value = BigInt(text);
    if (value > MAX_QUANTITY) problems.push({ field: where, message: `must be at most 2^64 − 1 (${MAX_QUANTITY})` });
    else if (value === 0n && !allowZero) problems.push({ field: where, message: 'must be at least 1 (leave a token out instead)' });
    else return value;
    return undefined;
  };
  if (request.lovelace !== undefined) {
    const lovelace = quantity(request.lovelace, `${field}.lovelace`, true);
    if (lovelace !== undefined && lovelace > 0n) amount.set(LOVELACE, lovelace);
  }
  const assets = Object.entries(request.assets ?? {});
  if (assets.length > MAX_INVOICE_ASSETS) {
    problems.push({ field: `${field}.assets`, message: `must hold at most ${MAX_INVOICE_ASSETS} tokens` });
  }
  for (const [asset, text] of assets.slice(0, MAX_INVOICE_ASSETS)) {
    const where = `${field}.assets.${asset.slice(0, 140)}`;
    if (!ASSET_KEY.test(asset)) {
      problems.push({
        field: where,
        message: 'must be "<policy id: 56 lowercase hex>.<asset name: 0–64 lowercase hex, an even number>"',
      });
      continue;
    }
    const value = quantity(text, where, false);
    if (value !== undefined) amount.set(asset, value);
  }
  if (problems.length === 0 && amount.size === 0) {
    problems.push({ field: `${field}.lovelace`, message: 'something must be asked: lovelace above 0, or at least one token' });
  }
  if (problems.length > 0) throw new InvoiceRequestError(problems);
  return amount;
}

/** What POST /v1/invoices asks, parsed (its body's structure is checked by the API document first). */
export interface InvoiceRequest {
  referenceId: string;
  amount: AmountRequest;
  expiresInSeconds: number;
  confirmations?: number;
  address?: string;
  userId?: string | null;
  accountId?: string;
}

export interface InvoiceSettings {
  network: Network;
  /** When the request names none: the monitor's CONFIRMATIONS. */
  defaultConfirmations: number;
  /** After expiry, how long a payment still counts (`paid_late`): INVOICE_MONITORING_MINUTES. */
  monitoringMinutes: number;
}

/** An account key locked for the transaction, with what the gap limit needs. */
export interface LockedAccount {
  id: string;
  gapLimit: number;
  nextIndex: number;
  /** The highest index whose address holds a payment on the chain (or held by a running rebuild); -1 when none does. */
  highestUsedIndex: number;
  /** The address at an index (derived from the stored key). */
  addressAt(index: number): string;
}

/** The port: the store of invoices, account keys and addresses, inside one transaction. */
export interface InvoiceBook {
  /** The registration of this address, if any. */
  addressRegistration(address: string): Promise<{ referenceType: string; referenceId: string } | undefined>;
  /**
   * Holds the chain position (FOR SHARE) for the rest of the transaction, so no engine step records a payment in
   * between: taken before the address is chosen, and before any event.
   */
  holdChainPosition(): Promise<void>;
  /** The account named (undefined: the oldest), locked FOR UPDATE; undefined when there is none. */
  lockAccount(accountId: string | undefined): Promise<LockedAccount | undefined>;
  /** Registers a new address for the invoice (payment_addresses, with its audit row); false when it is taken. */
  registerAddress(registration: Required<AddressRegistration>, actor: string): Promise<boolean>;
  /**
   * An address of the account registered already (given to an invoice, or registered with POST /v1/addresses): the
   * account's next index moves past it; an invoice's address is recorded as the account's (its payments count for the
   * gap limit).
   */
  passOverTakenAddress(
    accountId: string,
    index: number,
    address: string,
    holder: { referenceType: string; referenceId: string },
  ): Promise<void>;
  /** Records a newly derived address of the account and moves its next index past it. */
  recordDerivedAddress(accountId: string, index: number, address: string, invoiceId: string): Promise<void>;
  /** Inserts the invoice, its `invoice.created` event (data: the resource) and its audit row. */
  insertInvoice(invoice: InvoiceRecord, resource: InvoiceResource, actor: string, details: Record<string, unknown>): Promise<void>;
}

export interface InvoiceCreationDeps {
  book: InvoiceBook;
  settings: InvoiceSettings;
  now: Date;
  newInvoiceId(): string;
  /** Validates and canonicalises a given address for the network (the address registry's rule). */
  validateAddress(registration: Required<AddressRegistration>): Required<AddressRegistration>;
}

export const INVOICE_REFERENCE_TYPE = 'invoice';

export async function createInvoice(request: InvoiceRequest, actor: string, deps: InvoiceCreationDeps): Promise<InvoiceResource> {
  const { book, settings, now } = deps;
  const amount = parseInvoiceAmount(request.amount);
  const problems: { field: string; message: string }[] = [];
  if (
    !Number.isInteger(request.expiresInSeconds) ||
    request.expiresInSeconds < MIN_EXPIRES_IN_SECONDS ||
    request.expiresInSeconds > MAX_EXPIRES_IN_SECONDS
  ) {
    problems.push({
      field: 'expires_in_seconds',
      message: `must be a whole number of seconds from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS} (30 days)`,
    });
  }
  const confirmations = request.confirmations ?? settings.defaultConfirmations;
  if (!Number.isInteger(confirmations) || confirmations < MIN_INVOICE_CONFIRMATIONS || confirmations > MAX_INVOICE_CONFIRMATIONS) {
    problems.push({
      field: 'confirmations',
      message: `must be a whole number from ${MIN_INVOICE_CONFIRMATIONS} to ${MAX_INVOICE_CONFIRMATIONS}`,
    });
  }
  if (request.referenceId.trim() === '' || request.referenceId.length > MAX_TEXT_LENGTH) {
    problems.push({ field: 'reference_id', message: `must be a non-blank string of at most ${MAX_TEXT_LENGTH} characters` });
  }
  const givenUser = request.userId ?? null;
  if (givenUser !== null && (givenUser.trim() === '' || givenUser.length > MAX_TEXT_LENGTH)) {
    problems.push({ field: 'user_id', message: `must be null or a non-blank string of at most ${MAX_TEXT_LENGTH} characters` });
  }
  if (request.address !== undefined && request.accountId !== undefined) {
    problems.push({ field: 'account_id', message: 'give either an address or an account to derive one from, not both' });
  }
  if (problems.length > 0) throw new InvoiceRequestError(problems);

  const id = deps.newInvoiceId();
  const userId = request.userId ?? null;
  const expiresAt = new Date(now.getTime() + request.expiresInSeconds * 1000);
  const monitoringUntil = new Date(expiresAt.getTime() + settings.monitoringMinutes * 60_000);
  const registration = (address: string): Required<AddressRegistration> => ({
    address,
    referenceType: INVOICE_REFERENCE_TYPE,
    referenceId: id,
    userId,
  });

  let address: string;
  let derivedFrom: InvoiceRecord['derivedFrom'] = null;
  const details: Record<string, unknown> = { reference_id: request.referenceId };
  if (request.address !== undefined) {
    address = deps.validateAddress(registration(request.address)).address;
    await book.holdChainPosition();
    const taken = await book.addressRegistration(address);
    if (taken) throw addressInUse(address, taken, 'address');
    if (!(await book.registerAddress(registration(address), actor))) throw addressInUse(address, undefined, 'address');
  } else {
    await book.holdChainPosition();
    const account = await book.lockAccount(request.accountId);
    if (!account) {
      throw request.accountId === undefined
        ? new InvoiceRequestError(
            [{ field: 'address', message: 'is required while no account key is registered' }],
            'The invoice needs an address: register an account public key with POST /v1/accounts (its addresses are then derived), or give an address.',
          )
        : new InvoiceRequestError([{ field: 'account_id', message: `no account key ${request.accountId}` }]);
    }
    let index = account.nextIndex;
    for (;;) {
      if (index > account.highestUsedIndex + account.gapLimit) throw gapLimitReached({ ...account, nextIndex: index });
      address = account.addressAt(index);
      // Registered already (an invoice or a registration given the wallet's own address): passed over, never shared.
      const taken = await book.addressRegistration(address);
      if (!taken) break;
      await book.passOverTakenAddress(account.id, index, address, taken);
      index++;
    }
    derivedFrom = { accountId: account.id, index };
    if (!(await book.registerAddress(registration(address), actor))) throw addressInUse(address, undefined, 'account_id');
    await book.recordDerivedAddress(account.id, index, address, id);
    details.account_id = account.id;
    details.address_index = derivedFrom.index;
  }
  details.address = address;

  const invoice: InvoiceRecord = {
    id,
    referenceId: request.referenceId,
    userId,
    address,
    derivedFrom,
    amount,
    confirmations,
    createdAt: now,
    expiresAt,
    monitoringUntil,
    ...notYetJudged(),
  };
  const resource = invoiceResource(invoice, []);
  await book.insertInvoice(invoice, resource, actor, details);
  return resource;
}

function addressInUse(
  address: string,
  taken: { referenceType: string; referenceId: string } | undefined,
  field: string,
): InvoiceConflictError {
  const holder = taken ? ` (registered to ${taken.referenceType} ${taken.referenceId})` : '';
  return new InvoiceConflictError(
    'address_in_use',
    `Address ${address} is already registered${holder}: an invoice never shares its address. Give an unused address, or leave it out to derive one.`,
    field,
  );
}

function gapLimitReached(account: LockedAccount): InvoiceConflictError {
  const used =
    account.highestUsedIndex < 0
      ? 'no address of it has received a payment yet'
      : `index ${account.highestUsedIndex} is the highest that received a payment`;
  return new InvoiceConflictError(
    'gap_limit_reached',
    `Account ${account.id} has handed out ${account.nextIndex} addresses and ${used}; a further address would lie more than its gap limit (${account.gapLimit}) beyond it, where a wallet restored from the seed stops looking, so its funds would not be found. ` +
      'Addresses are never handed out twice (a late payment to an old invoice must never count for a new one). Register another account key of the wallet with a larger gap_limit (POST /v1/accounts; a wallet restoring it must scan that many addresses too), or give invoices addresses of your own.',
    'account_id',
  );
}
