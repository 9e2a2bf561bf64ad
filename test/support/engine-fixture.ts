import { PaymentEngine, type PaymentEngineOptions } from '../../functions/domain/payment-engine.js';
import type { PaymentStore } from '../../functions/domain/ports.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { FixedClock, RecordingLogger } from './recorders.js';

export interface EngineFixture {
  db: TestDatabase;
  engine: PaymentEngine;
  store: PaymentStore;
  registry: PostgresAddressRegistry;
  logger: RecordingLogger;
  metrics: InMemoryMetrics;
  clock: FixedClock;
}

/** A payment engine on a fresh database of the run's real PostgreSQL, with recording observability. */
export async function createEngineFixture(
  options: Partial<Pick<PaymentEngineOptions, 'confirmations' | 'retainedBlocks'>> & {
    wrapStore?: (store: PaymentStore) => PaymentStore;
  } = {},
): Promise<EngineFixture> {
  const db = await createTestDatabase();
  const postgresStore = new PostgresPaymentStore(db.pool, { retainedBlocks: options.retainedBlocks });
  const store = options.wrapStore ? options.wrapStore(postgresStore) : postgresStore;
  const logger = new RecordingLogger();
  const metrics = new InMemoryMetrics();
  const clock = new FixedClock();
  const engine = new PaymentEngine({
    store,
    logger,
    metrics,
    clock,
    network: 'mainnet',
    confirmations: options.confirmations ?? 3,
    retainedBlocks: options.retainedBlocks,
  });
  return { db, engine, store, registry: new PostgresAddressRegistry(db.pool, 'mainnet'), logger, metrics, clock };
}
