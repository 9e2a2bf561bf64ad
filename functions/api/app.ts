/** The API as one request handler, composed once per process (the local server, the API Lambda). */
import type pg from 'pg';
import type { Network } from '../domain/network.js';
import type { Logger, Metrics } from '../domain/ports.js';
import {
  DEFAULT_CONFIRMATIONS,
  DEFAULT_PAYOUT_APPROVAL_THRESHOLD_LOVELACE,
  DEFAULT_PAYOUT_DAILY_LIMIT_LOVELACE,
  DEFAULT_PAYOUT_MAX_LOVELACE,
} from '../config/variables.js';
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import { DEFAULT_INVOICE_MONITORING_MINUTES } from '../domain/invoices/invoice-creation.js';
import type { ApiContext, InvoiceDefaults } from './context.js';
import { createApiRouter, type ApiRouter } from './router.js';

export interface ApiAppOptions {
  pool: pg.Pool;
  network: Network;
  logger: Logger;
  /** The Lambda's metrics (EMF); absent locally. */
  metrics?: Metrics;
  clock?: { now(): Date };
  validateResponses: boolean;
  webhooks?: ApiContext['webhooks'];
  /** Default: CONFIRMATIONS' and INVOICE_MONITORING_MINUTES' defaults. */
  invoices?: InvoiceDefaults;
  /** Default: the PAYOUT_* variables' defaults. */
  payouts?: PayoutPolicy;
}

export function createApiApp(options: ApiAppOptions): ApiRouter {
  const context: ApiContext = {
    pool: options.pool,
    network: options.network,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    clock: options.clock ?? { now: () => new Date() },
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    invoices: options.invoices ?? { defaultConfirmations: DEFAULT_CONFIRMATIONS, monitoringMinutes: DEFAULT_INVOICE_MONITORING_MINUTES },
    payouts: options.payouts ?? {
      maxLovelace: DEFAULT_PAYOUT_MAX_LOVELACE,
      dailyLimitLovelace: DEFAULT_PAYOUT_DAILY_LIMIT_LOVELACE,
      approvalThresholdLovelace: DEFAULT_PAYOUT_APPROVAL_THRESHOLD_LOVELACE,
    },
  };
  return createApiRouter(context, { validateResponses: options.validateResponses });
}
