/**
 * `npm start`'s invoices: the demo account key (DEMO_ACCOUNT_PUBLIC_KEY) registered, and a few invoices on its
 * derived addresses, paid through the simulated chain so that they move by themselves: an ADA invoice and a token
 * invoice that settle, one paid in part (`paid_partial`), one left to expire. Done once per database (a restart
 * finds them and does nothing), through the same creation service as POST /v1/invoices.
 */
import type pg from 'pg';
import { registerAccountKey } from '../adapters/postgres/account-keys.js';
import { newInvoiceId, PostgresInvoiceBook } from '../adapters/postgres/invoice-book.js';
import { inTransaction } from '../adapters/postgres/pool.js';
import { parseAccountPublicKey } from '../domain/address/account-key.js';
import { validateRegistrations } from '../domain/address-registration.js';
import type { AssetQuantity } from '../domain/chain.js';
import { type AmountRequest, createInvoice } from '../domain/invoices/invoice-creation.js';
import type { Network } from '../domain/network.js';
import { LocalStackLogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';
import { DEMO_ACCOUNT_PUBLIC_KEY } from './demo-account.js';
import { DEMO_TOKEN_ASSET_NAME, DEMO_TOKEN_POLICY } from './demo.js';

const ACTOR = 'local-stack';

export interface DemoInvoice {
  referenceId: string;
  userId: string;
  amount: AmountRequest;
  expiresInSeconds: number;
  confirmations?: number;
  /** What the simulated customer pays (nothing: left to expire). */
  pays?: { lovelace: bigint; assets?: AssetQuantity[] };
}

const TOKEN = `${DEMO_TOKEN_POLICY}.${DEMO_TOKEN_ASSET_NAME}`;

export const DEMO_INVOICES: readonly DemoInvoice[] = [
  { referenceId: 'DEMO-ADA', userId: 'alice', amount: { lovelace: '10000000' }, expiresInSeconds: 3600, pays: { lovelace: 10_000_000n } },
  {
    referenceId: 'DEMO-TOKEN',
    userId: 'bob',
    amount: { assets: { [TOKEN]: '250' } },
    expiresInSeconds: 3600,
    confirmations: 3,
    // tokens travel with the ledger's minimum ADA: riding along, never an overpayment
    pays: { lovelace: 1_500_000n, assets: [{ policyId: DEMO_TOKEN_POLICY, assetName: DEMO_TOKEN_ASSET_NAME, quantity: 250n }] },
  },
  {
    referenceId: 'DEMO-PARTIAL',
    userId: 'carol',
    amount: { lovelace: '20000000' },
    expiresInSeconds: 3600,
    pays: { lovelace: 5_000_000n },
  },
  { referenceId: 'DEMO-EXPIRE', userId: 'alice', amount: { lovelace: '3000000' }, expiresInSeconds: 60 },
];

export interface DemoInvoiceOptions {
  pool: pg.Pool;
  network: Network;
  defaultConfirmations: number;
  monitoringMinutes: number;
  /** The simulator's queue: the payment lands in the next block. */
  pay(target: { address: string; lovelace: bigint; assets?: readonly AssetQuantity[] }): void;
  logger: Logger;
  now?: () => Date;
}

/** Registers the demo account key and creates and pays the demo invoices, unless an earlier start did. */
export async function createDemoInvoices(options: DemoInvoiceOptions): Promise<number> {
  const { pool, network } = options;
  const key = parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY);
  const created = await inTransaction(pool, async (client) => {
    const known = await client.query('SELECT 1 FROM account_keys WHERE public_key = $1', [key.bech32]);
    if (known.rows.length > 0) return [];
    const account = await registerAccountKey(client, key, { name: 'demo', gapLimit: 20, actor: ACTOR, network });
    const invoices: { address: string; pays: DemoInvoice['pays'] }[] = [];
    for (const demo of DEMO_INVOICES) {
      const invoice = await createInvoice(
        {
          referenceId: demo.referenceId,
          amount: demo.amount,
          expiresInSeconds: demo.expiresInSeconds,
          userId: demo.userId,
          accountId: account.id,
          ...(demo.confirmations === undefined ? {} : { confirmations: demo.confirmations }),
        },
        ACTOR,
        {
          book: new PostgresInvoiceBook(client, network),
          settings: { network, defaultConfirmations: options.defaultConfirmations, monitoringMinutes: options.monitoringMinutes },
          now: options.now?.() ?? new Date(),
          newInvoiceId,
          validateAddress: (registration) => validateRegistrations([registration], network)[0]!,
        },
      );
      invoices.push({ address: invoice.address, pays: demo.pays });
    }
    return invoices;
  });
  // Paid once the invoices (and their addresses) are committed: the engine matches the next block against them.
  for (const { address, pays } of created) {
    if (pays) options.pay({ address, lovelace: pays.lovelace, ...(pays.assets ? { assets: pays.assets } : {}) });
  }
  if (created.length > 0) options.logger.info(LocalStackLogEvent.demoInvoicesCreated, { invoices: created.length });
  return created.length;
}
