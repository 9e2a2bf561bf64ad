/**
 * The HTTP API in the local stack: the same router as the API Lambda, on node:http at API_PORT (127.0.0.1), with
 * BOOTSTRAP_API_KEY's admin key created when no admin key is active. Responses are checked against the document
 * here too (cheap, and a drift shows at once as a 500 naming it).
 */
import type pg from 'pg';
import { startApiServer, type ApiServer } from '../adapters/http/api-server.js';
import { ensureBootstrapApiKey } from '../adapters/postgres/api-keys.js';
import { createApiApp } from '../api/app.js';
import type { InvoiceDefaults, WebhookSettings } from '../api/context.js';
import type { Network } from '../domain/network.js';
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import { ApiLogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';

export interface LocalApiOptions {
  pool: pg.Pool;
  network: Network;
  logger: Logger;
  /** 0: a free port. */
  port: number;
  bootstrapApiKey?: string;
  webhooks: WebhookSettings;
  invoices?: InvoiceDefaults;
  payouts?: PayoutPolicy;
}

export async function startLocalApi(options: LocalApiOptions): Promise<ApiServer> {
  if (options.bootstrapApiKey !== undefined) {
    const id = await ensureBootstrapApiKey(options.pool, options.bootstrapApiKey);
    if (id !== undefined) options.logger.info(ApiLogEvent.bootstrapKeyCreated, { key_id: id });
  }
  const app = createApiApp({
    pool: options.pool,
    network: options.network,
    logger: options.logger,
    webhooks: options.webhooks,
    ...(options.invoices ? { invoices: options.invoices } : {}),
    ...(options.payouts ? { payouts: options.payouts } : {}),
    validateResponses: true,
  });
  return startApiServer({ port: options.port, handle: (request) => app.handle(request) });
}
