/** The follower's settings from the environment, and its metrics as CloudWatch EMF lines on stdout. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFollowerSettings } from '../../functions/config/follower-settings.js';
import { EmfMetrics } from '../../functions/adapters/powertools/emf-metrics.js';

const VALID = {
  OGMIOS_URL: 'wss://ogmios.example:443',
  OGMIOS_API_KEY: 'primary-key',
  DATABASE_URL: 'postgres://monitor@db.example/monitor',
  NETWORK: 'preprod',
  LEASE_TABLE: 'payment-monitor-leases',
  STAGE: 'prod',
};

describe('follower configuration', () => {
  it('reads the defaults: tip start, 30 s lease renewed every 10 s, 5 s margin, 30 s shutdown budget', () => {
    expect(readFollowerSettings(VALID)).toEqual({
      network: 'preprod',
      ogmios: { urls: ['wss://ogmios.example:443'], apiKeys: ['primary-key'] },
      database: { connectionString: VALID.DATABASE_URL },
      startPoint: 'tip',
      leaseTable: 'payment-monitor-leases',
      stage: 'prod',
      serviceName: 'payment-monitor-follower',
      healthPort: 8080,
      lease: { leaseDurationMs: 30_000, renewIntervalMs: 10_000, safetyMarginMs: 5_000, acquireIntervalMs: 3_000 },
      shutdownBudgetMs: 30_000,
      metricsIntervalMs: 60_000,
      logLevel: 'info',
    });
  });

  it('takes a start point, lease timings and a budget from the environment', () => {
    const config = readFollowerSettings({
      ...VALID,
      START_POINT: `4492800.${'0f'.repeat(32)}`,
      LEASE_DURATION_MS: '20000',
      LEASE_RENEW_INTERVAL_MS: '5000',
      LEASE_SAFETY_MARGIN_MS: '4000',
      LEASE_ACQUIRE_INTERVAL_MS: '2000',
      SHUTDOWN_BUDGET_MS: '45000',
    });
    expect(config.startPoint).toEqual({ slot: 4_492_800n, hash: '0f'.repeat(32) });
    expect(config.lease).toEqual({ leaseDurationMs: 20_000, renewIntervalMs: 5_000, safetyMarginMs: 4_000, acquireIntervalMs: 2_000 });
    expect(config.shutdownBudgetMs).toBe(45_000);
  });

  it('reports every problem at once, naming the variable', () => {
    expect(() =>
      readFollowerSettings({
        NETWORK: 'testnet',
        START_POINT: 'yesterday',
        HEALTH_PORT: 'eighty',
        SHUTDOWN_BUDGET_MS: '300000',
        LOG_LEVEL: 'loud',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'NETWORK must be one of mainnet, preprod, preview; got "testnet"',
          'OGMIOS_URL is not set: give one or more ws:// or wss:// URLs, comma-separated',
          'DATABASE_URL is not set: give the PostgreSQL connection URL of the engine database, DATABASE_SECRET_ARN (an RDS-managed secret), or PGHOST with PGDATABASE, PGUSER and PGPASSWORD',
          '"yesterday" is not a chain point: expected origin or <slot>.<64-hex block id>',
          'LEASE_TABLE is not set: give the name of the DynamoDB lease table',
          'STAGE is not set: give the stage name (every metric carries it as a dimension)',
          'HEALTH_PORT must be a port number; got "eighty"',
          'SHUTDOWN_BUDGET_MS must be a whole number of milliseconds between 1 and 120000; got "300000"',
          'LOG_LEVEL must be one of debug, info, warn, error, critical; got "loud"',
        ],
      }),
    );
  });

  it('composes the database URL from the libpq variables when neither DATABASE_URL nor DATABASE_SECRET_ARN is set', () => {
    const { DATABASE_URL: _unset, ...withoutUrl } = VALID;
    const config = readFollowerSettings({
      ...withoutUrl,
      PGHOST: 'db.internal',
      PGPORT: '5433',
      PGDATABASE: 'payments',
      PGUSER: 'monitor',
      PGPASSWORD: 'p@ss:w/rd?#',
      PGSSLMODE: 'verify-full',
    });
    const url = 'connectionString' in config.database ? config.database.connectionString : '';
    expect(url).toBe('postgres://monitor:p%40ss%3Aw%2Frd%3F%23@db.internal:5433/payments?sslmode=verify-full');
    expect(new URL(url).password).toBe(encodeURIComponent('p@ss:w/rd?#'));
    // DATABASE_URL wins when both are given.
    expect(readFollowerSettings({ ...VALID, PGHOST: 'other.internal' }).database).toEqual({ connectionString: VALID.DATABASE_URL });
  });

  it('takes the RDS secret (what AWS gives it) over the libpq variables, and DATABASE_URL over both', () => {
    const { DATABASE_URL: _unset, ...withoutUrl } = VALID;
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:payment-monitor/prod/database';
    expect(
      readFollowerSettings({ ...withoutUrl, DATABASE_SECRET_ARN: secretArn, PGSSLMODE: 'verify-full', PGHOST: 'ignored' }).database,
    ).toEqual({ secretArn, sslMode: 'verify-full' });
    expect(readFollowerSettings({ ...withoutUrl, DATABASE_SECRET_ARN: ` ${secretArn} ` }).database).toEqual({
      secretArn,
      sslMode: undefined,
    });
    expect(readFollowerSettings({ ...VALID, DATABASE_SECRET_ARN: secretArn }).database).toEqual({ connectionString: VALID.DATABASE_URL });
  });

  it('refuses a DATABASE_URL that is not a postgres:// URL without echoing it', () => {
    expect(() => readFollowerSettings({ ...VALID, DATABASE_URL: 'mysql://secret@db' })).toThrow(
      'DATABASE_URL must be a postgres:// URL; got a mysql: URL',
    );
  });

  it('refuses lease timings that would not let a leader renew in time', () => {
    expect(() => readFollowerSettings({ ...VALID, LEASE_RENEW_INTERVAL_MS: '20000' })).toThrow(
      /renewal interval \(20000 ms\) must be at most half/,
    );
  });
});

describe('EMF metrics on stdout', () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(): () => Record<string, unknown>[] {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      return true;
    });
    return () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('writes gauges with their latest value and counters as interval sums, under PaymentMonitor with service and stage', () => {
    const documents = capture();
    const metrics = new EmfMetrics({ serviceName: 'payment-monitor-follower', stage: 'prod' });
    metrics.gauge('chain_tip_height', 100);
    metrics.gauge('chain_tip_height', 101);
    metrics.gauge('follower_leader', 1);
    metrics.count('ogmios_reconnects');
    metrics.count('sqs_messages_sent', 10);
    metrics.count('sqs_messages_sent', 5);
    metrics.publish();
    const [document] = documents();
    expect(document).toMatchObject({
      service: 'payment-monitor-follower',
      stage: 'prod',
      chain_tip_height: 101,
      follower_leader: 1,
      ogmios_reconnects: 1,
      sqs_messages_sent: 15,
      _aws: { CloudWatchMetrics: [{ Namespace: 'PaymentMonitor', Dimensions: [['service', 'stage']] }] },
    });
  });

  it('repeats gauges and writes zero counts in quiet intervals, so alarms never see gaps', () => {
    const documents = capture();
    const metrics = new EmfMetrics({ serviceName: 'follower', stage: 'dev' });
    metrics.gauge('follower_leader', 0);
    metrics.count('ogmios_reconnects', 3);
    metrics.publish();
    metrics.publish();
    expect(documents().map((document) => [document.follower_leader, document.ogmios_reconnects])).toEqual([
      [0, 3],
      [0, 0],
    ]);
  });

  it('writes a metric with dimensions of its own as a document of its own', () => {
    const documents = capture();
    const metrics = new EmfMetrics({ serviceName: 'follower', stage: 'dev' });
    metrics.count('payments', 2, { reference_type: 'invoice' });
    metrics.observe('emit_seconds', 0.25);
    metrics.publish();
    expect(documents()).toEqual([
      expect.objectContaining({
        reference_type: 'invoice',
        payments: 2,
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['service', 'stage', 'reference_type']] })],
        }),
      }),
      expect.objectContaining({
        emit_seconds: 0.25,
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Metrics: [{ Name: 'emit_seconds', Unit: 'Seconds' }] })],
        }),
      }),
    ]);
  });
});
