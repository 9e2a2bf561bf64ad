/** What the API's routes work with: the pool, the network, the logger, and helper B's outbox and webhook functions. */
import type pg from 'pg';
import type { Network } from '../domain/network.js';
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import type { Logger, Metrics } from '../domain/ports.js';
import type { SecretSealer } from '../domain/webhooks/secret-sealer.js';
import type { WriteResult } from './idempotency.js';
import type { ApiResponse, RouteRequest, Scope } from './types.js';

/** Anything with pg's `query`: the pool, or the client of the write's transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** What the webhook routes need beside the database: the sealer of signing secrets and the URL rule. */
export interface WebhookSettings {
  sealer: SecretSealer;
  /** Plain http to loopback allowed (the local stack); false on AWS. */
  allowPrivateDestinations: boolean;
}

export interface ApiContext {
  pool: pg.Pool;
  network: Network;
  logger: Logger;
  /** Counts the API's own events (a payout refused for the daily limit); absent: nothing is counted. */
  metrics?: Metrics;
  clock: { now(): Date };
  /** Absent: the webhook routes that make or rotate a secret answer 501 (no sealer configured). */
  webhooks?: WebhookSettings;
  /** What an invoice takes when its request says nothing: the monitor's CONFIRMATIONS, INVOICE_MONITORING_MINUTES. */
  invoices: InvoiceDefaults;
  /** The payout policy: PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_APPROVAL_THRESHOLD_LOVELACE. */
  payouts: PayoutPolicy;
}

export interface InvoiceDefaults {
  defaultConfirmations: number;
  monitoringMinutes: number;
}

/** A read: runs on the pool. */
export interface ReadRoute {
  kind: 'read';
  handle(request: RouteRequest, context: ApiContext): Promise<ApiResponse>;
}

/**
 * A write: runs in one transaction (its audit rows with it). A POST's transaction also takes the Idempotency-Key's
 * lock and stores the response.
 */
export interface WriteRoute {
  kind: 'write';
  handle(db: pg.PoolClient, request: RouteRequest, context: ApiContext): Promise<WriteResult>;
}

export type Route = ReadRoute | WriteRoute;

/** A resource's routes, by the document's operationId. */
export type RouteModule = Record<string, Route>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body };
}

export type { Scope };
