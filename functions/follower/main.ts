/**
 * The follower task on ECS Fargate: two tasks run this; the one holding the DynamoDB lease follows Ogmios and
 * emits chain events to SQS FIFO, the other stands by (follower-service.ts). Settings: config.ts.
 *
 * Shutdown (SIGTERM from ECS, SIGINT locally): stop following, emit what is queued, release the lease so that the
 * standby takes over within one of its attempt intervals, close, exit 0 — all within SHUTDOWN_BUDGET_MS (default
 * 30 s). Past the budget the process exits 1 whatever is left. The task definition's `stopTimeout` must be at
 * least SHUTDOWN_BUDGET_MS plus a couple of seconds (and Fargate allows at most 120 s), or ECS kills the task
 * before it has released the lease; the standby then takes over only after the lease lapses (~30 s).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { FollowerLease } from '../adapters/dynamodb/follower-lease.js';
import { LeaseTable, leaseNameFor } from '../adapters/dynamodb/lease-table.js';
import { startHealthServer } from '../adapters/http/health-server.js';
import { JsonLogger } from '../adapters/observability/json-logger.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { asynchronousInvocation } from '../adapters/lambda/asynchronous-invocation.js';
import { createPool, type DatabaseConnection } from '../adapters/postgres/pool.js';
import { secretsManagerReader } from '../adapters/secrets/secret-reader.js';
import { createSqsChainEventEmitter } from '../adapters/sqs/emitter-settings.js';
import { databaseConnection } from '../config/database-settings.js';
import { readFollowerProcessSettings, readFollowerServiceName, type FollowerSettings } from '../config/follower-settings.js';
import { ogmiosEndpoints } from '../config/ogmios-settings.js';
import { DefaultServiceName, ProcessLogEvent } from '../domain/observability.js';
import { EmfMetrics } from '../adapters/powertools/emf-metrics.js';
import { PostgresFollowerDatabase } from '../adapters/postgres/follower-database.js';
import { FollowerService } from './follower-service.js';
import { ReconnectReconciliation } from './reconnect-reconciliation.js';

/** Kept back from the shutdown budget for closing the health server, the pool and the last metrics. */
const CLEANUP_RESERVE_MS = 1_000;
/** One DynamoDB request, the SDK's retries included, may take this long before the lease counts it as failed. */
const LEASE_REQUEST_TIMEOUT_MS = 2_000;
/** Bounds the ledger queries behind START_POINT=tip and a standby's /health/ready. */
const OGMIOS_QUERY_TIMEOUT_MS = 3_000;

async function main(): Promise<void> {
  const bootLogger = new JsonLogger({ service: readFollowerServiceName() });
  let config: FollowerSettings;
  let emitterSettings: ReturnType<typeof readFollowerProcessSettings>['emitter'];
  try {
    ({ follower: config, emitter: emitterSettings } = readFollowerProcessSettings());
  } catch (error) {
    bootLogger.critical(ProcessLogEvent.startupFailed, { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }

  // Unique per process: a restarted task must not pass for its former self (see domain/lease.ts, own_record).
  const holderId = `${hostname()}/${randomUUID().slice(0, 8)}`;
  const logger = new JsonLogger(
    { service: config.serviceName, stage: config.stage, network: config.network, holder: holderId },
    config.logLevel,
  );
  const metrics = new EmfMetrics({ serviceName: config.serviceName, stage: config.stage, intervalMs: config.metricsIntervalMs });
  metrics.start();
  process.on('unhandledRejection', (reason) => {
    logger.critical(ProcessLogEvent.unhandledRejection, { error: reason instanceof Error ? reason.message : String(reason) });
    process.exit(1);
  });

  const readSecret = secretsManagerReader();
  // Ogmios keys from their secret on AWS: read when a connection opens and again after a refusal (rotation).
  const ogmios = ogmiosEndpoints(config.ogmios, readSecret);
  let connection: DatabaseConnection;
  try {
    // From the RDS secret on AWS: the password is read per new connection, so a rotation needs no restart.
    connection = await databaseConnection(config.database, readSecret);
  } catch (error) {
    logger.critical(ProcessLogEvent.startupFailed, { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  const pool = createPool({ ...connection, max: 2, applicationName: DefaultServiceName.follower });
  // Two attempts at most: the lease retries on its own schedule and must hear of a failure before its deadline.
  const dynamodb = new DynamoDBClient({ maxAttempts: 2 });
  const lease = new FollowerLease({
    table: new LeaseTable({
      client: dynamodb,
      tableName: config.leaseTable,
      leaseName: leaseNameFor(config.network),
      requestTimeoutMs: LEASE_REQUEST_TIMEOUT_MS,
    }),
    holderId,
    timings: config.lease,
    logger,
    metrics,
  });
  const service = new FollowerService({
    lease,
    emitter: createSqsChainEventEmitter(emitterSettings, { logger, metrics }),
    database: new PostgresFollowerDatabase(pool, { network: config.network }),
    ogmios,
    ogmiosQueries: new LedgerStateClient({
      ...ogmios,
      logger,
      connectTimeoutMs: OGMIOS_QUERY_TIMEOUT_MS,
      requestTimeoutMs: OGMIOS_QUERY_TIMEOUT_MS,
    }),
    startPoint: config.startPoint,
    logger,
    metrics,
  });

  const health = await startHealthServer({
    port: config.healthPort,
    readiness: () => service.readiness(),
    liveness: () => ({ ...service.liveness() }),
  });
  service.start();
  // After an outage, the leader asks the reconciliation Lambda for a run (this process may only read the
  // database, so the run happens there).
  const reconciliationFunction = config.reconciliationFunctionName;
  const reconnectReconciliation = reconciliationFunction
    ? new ReconnectReconciliation({
        observe: () => service.reconnectTelemetry(),
        reconcile: () => asynchronousInvocation(new LambdaClient({}), reconciliationFunction)({ trigger: 'reconnect' }),
        logger,
      })
    : undefined;
  reconnectReconciliation?.start();
  logger.info(ProcessLogEvent.followerStarted, {
    healthPort: health.port,
    leaseTable: config.leaseTable,
    leaseDurationMs: config.lease.leaseDurationMs,
    shutdownBudgetMs: config.shutdownBudgetMs,
  });

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => {
      logger.critical(ProcessLogEvent.shutdownBudgetExceeded, { budgetMs: config.shutdownBudgetMs });
      metrics.stop();
      process.exit(1);
    }, config.shutdownBudgetMs);
    logger.info(ProcessLogEvent.followerStopping, { signal, role: service.role });
    await service.stop(config.shutdownBudgetMs - CLEANUP_RESERVE_MS);
    await reconnectReconciliation?.stop();
    await health.close();
    await pool.end().catch(() => undefined);
    dynamodb.destroy();
    logger.info(ProcessLogEvent.followerStopped, { signal });
    metrics.stop();
    clearTimeout(hardStop);
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

await main();
