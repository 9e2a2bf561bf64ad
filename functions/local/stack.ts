import { createHash } from 'node:crypto';
import type pg from 'pg';
import { PaymentEngine } from '../domain/payment-engine.js';
import type { Logger } from '../domain/ports.js';
import type { Readiness } from '../domain/readiness.js';
import { ChainSyncClient } from '../adapters/ogmios/chain-sync-client.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import { InMemoryMetrics } from '../adapters/observability/in-memory-metrics.js';
import { startHealthServer } from '../adapters/http/health-server.js';
import { PostgresAddressRegistry } from '../adapters/postgres/address-registry.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { PostgresPaymentStore } from '../adapters/postgres/payment-store.js';
import { createPool } from '../adapters/postgres/pool.js';
import { loadResumePoints } from '../adapters/postgres/resume-points.js';
import { probeReadiness } from '../adapters/postgres/readiness-probe.js';
import { demoRegistrations, demoSimulatorOptions } from './demo.js';
import { EnginePipeline } from './engine-pipeline.js';
import { openLocalDatabase, type LocalDatabase } from './local-database.js';
import { guardLocalNetwork } from './network-guard.js';
import { startOgmiosSimulator, type OgmiosSimulator, type OgmiosSimulatorOptions } from './simulator/index.js';
import type { LocalStackSettings } from '../config/local-settings.js';
import { LOCAL_STACK_BLOCK_TIME_MS } from '../config/variables.js';
import { DEFAULT_INVOICE_MONITORING_MINUTES } from '../domain/invoices/invoice-creation.js';
import { createDemoInvoices } from './demo-invoices.js';
import { chooseStart } from '../follower/start-points.js';
import { keepJournal, readJournal } from './simulator-journal.js';
import { deliveredTelemetry, ReconnectReconciliation } from '../follower/reconnect-reconciliation.js';
import { announceLocalOgmios } from './local-ogmios.js';
import { measureHotWalletNow, reconcileNow } from './local-reconciliation.js';
import { LocalStackLogEvent } from '../domain/observability.js';
import { mayHaveWrittenEvents } from '../domain/business-events.js';
import type { SecretSealer } from '../domain/webhooks/secret-sealer.js';
import { LOCAL_WEBHOOK_KEY_FILE, localSecretSealer, startLocalWebhooks, type LocalWebhooks } from './local-webhooks.js';
import { startLocalApi } from './local-api.js';
import { demoHotWalletFunding, hotWalletSeen, type LocalPayouts, localHotWallet, startLocalPayouts } from './local-payouts.js';
import { DEFAULT_PAYOUT_SIGNER_KEY_FILE } from '../config/local-settings.js';
import { DEFAULT_PAYOUT_RESUBMIT_SECONDS, DEFAULT_PAYOUT_VALIDITY_SECONDS } from '../config/variables.js';
import type { ApiServer } from '../adapters/http/api-server.js';

export interface LocalStackOptions {
  config: LocalStackSettings;
  logger: Logger;
  /** Simulator settings on top of the demo ones (tests use them to control the chain). */
  simulator?: OgmiosSimulatorOptions;
  /** Where the simulated chain is kept across restarts. */
  simulatorJournal?: string;
  /** The key that seals webhook signing secrets (made on first use, 0600). */
  webhookKeyFile?: string;
  /** npm start: the demo account key and a few invoices paid on the simulated chain (functions/local/demo-invoices.ts). */
  demoInvoices?: boolean;
  /** How often the payout processor runs by itself (default LOCAL_PAYOUT_INTERVAL_MS); a benchmark runs it itself. */
  payoutIntervalMs?: number;
}

export interface LocalStack {
  pool: pg.Pool;
  metrics: InMemoryMetrics;
  simulator: OgmiosSimulator | undefined;
  healthPort: number;
  /** The HTTP API /v1 (API_PORT). */
  apiPort: number;
  database: LocalDatabase;
  /** The outbox publisher and webhook deliverer running in-process. */
  webhooks: LocalWebhooks;
  /** Seals webhook signing secrets (the API's endpoint creation and rotation use it). */
  webhookSealer: SecretSealer;
  readiness(): Promise<Readiness>;
  /** The follower's view: connected, tip, reconnects. */
  followerHealth(): ReturnType<ChainSyncClient['health']> | undefined;
  /** Everything received so far is applied. */
  settled(): Promise<void>;
  /** The payout processor (it also runs by itself every couple of seconds). */
  payouts: LocalPayouts;
  /** The hot wallet payouts are paid from (the local signer's enterprise address). */
  hotWalletAddress: string;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: PostgreSQL (embedded unless DATABASE_URL), migrations, the Ogmios
 * simulator (unless OGMIOS_URL) with demo addresses, follower → in-process queue → engine, health server.
 */
export async function startLocalStack({
  config,
  logger,
  simulator: simulatorOverrides,
  simulatorJournal = '.data/simulator-chain.jsonl',
  webhookKeyFile = LOCAL_WEBHOOK_KEY_FILE,
  demoInvoices = false,
  payoutIntervalMs,
}: LocalStackOptions): Promise<LocalStack> {
  const database = await openLocalDatabase();
  const pool = createPool({ connectionString: database.url, max: 4, applicationName: 'payment-monitor-local' });
  let client: ChainSyncClient | undefined;
  const readiness = () => probeReadiness(pool, () => client?.health().tip?.height);
  let health: Awaited<ReturnType<typeof startHealthServer>>;
  let api: ApiServer | undefined;
  // Seals webhook signing secrets: the API's endpoint creation and rotation, and the deliverer.
  const webhookSealer = localSecretSealer(webhookKeyFile);
  try {
    const { applied } = await migrate(pool);
    logger.info(LocalStackLogEvent.databaseReady, { database: database.description, migrations_applied: applied });
    // One network's data per database: another NETWORK is refused before anything is registered or followed.
    await guardLocalNetwork(pool, database, config.network, { record: true });
    // The health port first: a busy port fails the start before anything follows the chain (not a half-started
    // monitor without health endpoint or status line).
    health = await startHealthServer({
      port: config.healthPort,
      readiness,
      liveness: () => ({ follower_connected: client?.health().connected ?? false }),
    });
    // The HTTP API (and BOOTSTRAP_API_KEY's admin key), like the health port before anything follows the chain.
    api = await startLocalApi({
      pool,
      network: config.network,
      logger,
      port: config.apiPort ?? 0,
      // the local deliverer's rule: plain http to loopback is allowed
      webhooks: { sealer: webhookSealer, allowPrivateDestinations: true },
      invoices: {
        defaultConfirmations: config.confirmations,
        monitoringMinutes: config.invoiceMonitoringMinutes ?? DEFAULT_INVOICE_MONITORING_MINUTES,
      },
      ...(config.payouts ? { payouts: config.payouts } : {}),
      ...(config.bootstrapApiKey === undefined ? {} : { bootstrapApiKey: config.bootstrapApiKey }),
    }).catch(async (error: unknown) => {
      await health.close();
      throw error;
    });
  } catch (error) {
    await pool.end();
    await database.stop();
    throw error;
  }

  // The hot wallet: the local signer's address, registered by the processor's assembly below. The demo funds it only
  // after that, so the engine sees its coins arrive; coins sent to it before it was registered are not the engine's.
  const payoutExecution = config.payoutExecution ?? {
    keyFile: DEFAULT_PAYOUT_SIGNER_KEY_FILE,
    validitySeconds: DEFAULT_PAYOUT_VALIDITY_SECONDS,
    resubmitAfterSeconds: DEFAULT_PAYOUT_RESUBMIT_SECONDS,
  };
  const payoutHotWallet = await localHotWallet(payoutExecution.keyFile, config.network);

  let simulator: OgmiosSimulator | undefined;
  let stopJournal = (): void => {};
  let stopAnnouncing = (): void => {};
  const hotWallet = config.hotWalletAddresses ?? [];
  let endpoints: OgmiosEndpoints;
  if (config.ogmios === 'simulator') {
    const registrations = demoRegistrations(config.network);
    await new PostgresAddressRegistry(pool, config.network).register(registrations, 'local-stack');
    const history = readJournal(simulatorJournal);
    simulator = await startOgmiosSimulator({
      ...demoSimulatorOptions(config.network, registrations, config.simulatorBlockTimeMs ?? LOCAL_STACK_BLOCK_TIME_MS),
      // Names the hot wallet as the simulator's own, so that background traffic never spends its coins.
      fund: [{ address: payoutHotWallet.address, lovelace: 1_000_000n }],
      history,
      // new blocks must not repeat the ids of the restored ones
      seed: `npm-start:${createHash('sha256')
        .update(history.at(-1) ?? 'new chain')
        .digest('hex')}`,
      ...simulatorOverrides,
    });
    stopJournal = keepJournal(simulator, simulatorJournal);
    stopAnnouncing = announceLocalOgmios(simulator.url); // for the CLI's reconcile and hot-wallet commands
    endpoints = { urls: [simulator.url], apiKeys: [] };
    const tip = simulator.tip();
    logger.info(LocalStackLogEvent.simulatorStarted, {
      url: simulator.url,
      demo_addresses: registrations.length,
      tip_height: tip === 'origin' ? 0 : tip.height,
    });
  } else {
    endpoints = config.ogmios;
  }

  const metrics = new InMemoryMetrics();
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(pool, { logger }),
    logger,
    metrics,
    clock: { now: () => new Date() },
    network: config.network,
    confirmations: config.confirmations,
  });

  // Business events: published (marked, no bus locally) and delivered to webhooks in-process, woken by each step.
  const webhooks = startLocalWebhooks({ pool, sealer: webhookSealer, logger, metrics });

  let stopping = false;
  const pipeline = new EnginePipeline({
    engine,
    logger,
    onDivergence: () => void client?.stop(),
    onApplied: (outcome) => {
      if (mayHaveWrittenEvents(outcome)) webhooks.wake();
    },
  });
  pipeline.start();

  // The follower's rule: the database's own points, else START_POINT (the network's tip asked only then).
  const startPoints = async () =>
    chooseStart(await loadResumePoints(pool), config.startPoint, async () => {
      const ledger = new LedgerStateClient({ ...endpoints, logger });
      try {
        return await ledger.networkTip();
      } finally {
        await ledger.close();
      }
    });

  // Follows until stopped. After a divergence (the engine refused an event), the queue is discarded and
  // following restarts from the database's own points: the database is the truth, nothing is lost.
  const following = (async () => {
    while (!stopping) {
      const { points, allowOrigin } = await startPoints();
      // Stopped while the start was chosen: a client made now would follow on, with nobody left to stop it.
      if (stopping) break;
      client = new ChainSyncClient({
        ...endpoints,
        knownPoints: points,
        allowOriginFallback: allowOrigin,
        onEvent: (event) => pipeline.push(event),
        logger,
        metrics,
        // at the tip, answers still in flight only come with new blocks: nothing to wait for when stopping
        stopDrainTimeoutMs: 200,
      });
      await client.run();
      if (!stopping) {
        pipeline.discardQueued();
        logger.warn(LocalStackLogEvent.followerRestarting, { reason: 'the engine refused an event; resuming from the database' });
      }
    }
  })();
  following.catch((error: unknown) => {
    logger.critical(LocalStackLogEvent.followerFailed, { error: error instanceof Error ? error.message : String(error) });
  });

  const payouts: LocalPayouts = await startLocalPayouts({
    pool,
    endpoints,
    hotWallet: payoutHotWallet,
    network: config.network,
    confirmations: config.confirmations,
    validitySeconds: payoutExecution.validitySeconds,
    resubmitAfterSeconds: payoutExecution.resubmitAfterSeconds,
    logger,
    metrics,
    ...(payoutIntervalMs === undefined ? {} : { intervalMs: payoutIntervalMs }),
  });
  // The demo hot wallet's coins, once: the engine follows from the tip, so they come in a block it sees.
  if (simulator && !(await hotWalletSeen(pool))) {
    const funding = demoHotWalletFunding(payoutHotWallet.address);
    for (const target of funding) simulator.queuePayment(target);
    logger.info(LocalStackLogEvent.hotWalletFunded, {
      address: payoutHotWallet.address,
      outputs: funding.length,
      lovelace: funding.reduce((sum, target) => sum + (target.lovelace ?? 0n), 0n).toString(),
    });
  }

  if (demoInvoices && simulator) {
    const chain = simulator;
    await createDemoInvoices({
      pool,
      network: config.network,
      defaultConfirmations: config.confirmations,
      monitoringMinutes: config.invoiceMonitoringMinutes ?? DEFAULT_INVOICE_MONITORING_MINUTES,
      pay: (target) => void chain.queuePayment(target),
      logger,
    }).catch((error: unknown) =>
      logger.warn(LocalStackLogEvent.demoInvoicesFailed, { reason: error instanceof Error ? error.message : String(error) }),
    );
  }

  // After an outage of the Ogmios connection, a reconciliation of the monitored addresses, in-process.
  const reconnectReconciliation = new ReconnectReconciliation({
    observe: () => {
      const health = client?.health();
      return health === undefined ? undefined : deliveredTelemetry(health);
    },
    reconcile: () => reconcileNow({ pool, ogmios: endpoints, logger, metrics, trigger: 'reconnect' }),
    logger,
  });
  reconnectReconciliation.start();
  // HOT_WALLET_ADDRESSES: the balance every minute as the hot_wallet_balance_ada gauge (shown on the status line).
  const measureHotWallet = () =>
    void measureHotWalletNow({ ogmios: endpoints, addresses: hotWallet, logger, metrics }).catch((error: unknown) =>
      logger.warn(LocalStackLogEvent.hotWalletUnavailable, { reason: error instanceof Error ? error.message : String(error) }),
    );
  const hotWalletTimer = hotWallet.length > 0 ? setInterval(measureHotWallet, 60_000) : undefined;
  hotWalletTimer?.unref();
  if (hotWallet.length > 0) measureHotWallet();

  return {
    pool,
    metrics,
    simulator,
    healthPort: health.port,
    apiPort: api.port,
    database,
    webhooks,
    webhookSealer,
    readiness,
    followerHealth: () => client?.health(),
    settled: () => pipeline.drained(),
    payouts,
    hotWalletAddress: payoutHotWallet.address,
    async stop() {
      stopping = true;
      clearInterval(hotWalletTimer);
      await payouts.stop();
      await reconnectReconciliation.stop();
      await client?.stop();
      await following.catch(() => undefined);
      await pipeline.stop();
      await webhooks.stop();
      await api?.close();
      await health.close();
      stopJournal();
      stopAnnouncing();
      await simulator?.stop();
      await pool.end();
      await database.stop();
    },
  };
}
