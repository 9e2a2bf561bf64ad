/**
 * The processor Lambda as deployed: configured by its environment, one pool per instance, Powertools logs
 * correlated by block and EMF metrics flushed at the end of every invocation, the cold start counted once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { encodeChainEventMessage, stepsOf } from '../../functions/domain/chain-event-message.js';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { LogEvent, Metric } from '../../functions/domain/observability.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { sqsRecord } from '../support/sqs-records.js';
import { captureOutput, emfDocuments, lambdaContext, metricValues } from '../support/local-aws.js';
import { resolveDatabaseConnection } from '../../functions/config/database-settings.js';
import { readProcessorSettings } from '../../functions/config/lambda-settings.js';

const alice = syntheticAddress('mainnet', 'alice');
const DIMENSIONS = { service: 'payment-monitor', stage: 'test' };

let db: TestDatabase;
let generation: bigint;
let handler: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  db = await createTestDatabase();
  await new PostgresAddressRegistry(db.pool, 'mainnet').register(
    [{ address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' }],
    'test',
  );
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'); // set by Lambda; Powertools detects cold starts by it
  vi.stubEnv('STAGE', 'test');
  vi.stubEnv('NETWORK', 'mainnet');
  vi.stubEnv('DATABASE_URL', db.url);
  vi.stubEnv('CONFIRMATIONS', '2');
  vi.stubEnv('LOG_LEVEL', 'info');
  ({ handler } = await import('../../functions/handlers/processor.js'));
  // The leader's fence, as the follower writes it before it emits.
  generation = (await new PostgresFollowerDatabase(db.pool).beginSession(1n)).generation;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await db?.drop();
});

let sequence = 0;
let step = 0n;
function sqsEvent(...events: ChainEvent[]): SQSEvent {
  return {
    Records: events.map((event) => {
      const messageId = `message-${++sequence}`;
      const steps = { first: step + 1n, last: step + BigInt(stepsOf(event)) };
      step = steps.last;
      return sqsRecord(messageId, encodeChainEventMessage({ version: 2, network: 'mainnet', fence: 1n, generation, steps, event }));
    }),
  };
}

describe('processor handler', () => {
  it('applies the batch, logs payments with the block and message ids, and flushes EMF metrics once per invocation', async () => {
    const chain = new ChainBuilder();
    const pay = transaction([output(alice, 7_000_000n)]);
    const event = sqsEvent(chain.forward([chain.next([pay])]), chain.forward([chain.next()]));

    const first = await captureOutput(() => handler(event, lambdaContext('processor')));
    expect(first.result).toEqual({ batchItemFailures: [] });

    const detected = first.lines.find((line) => line.message === LogEvent.paymentDetected);
    expect(detected).toMatchObject({
      level: 'INFO',
      service: 'payment-monitor',
      stage: 'test',
      function_name: 'processor',
      message_id: event.Records[0]!.messageId,
      block_id: chain.at(1n).hash,
      block_height: '1',
      tx_hash: pay.id,
    });
    const confirmed = first.lines.find((line) => line.message === LogEvent.paymentConfirmed);
    expect(confirmed).toMatchObject({ message_id: event.Records[1]!.messageId, block_id: chain.at(2n).hash });

    const documents = emfDocuments(first.lines);
    expect(metricValues(documents, 'ColdStart')).toHaveLength(1);
    expect(metricValues(documents, Metric.blocksApplied)).toEqual([{ value: [1, 1], dimensions: DIMENSIONS }]);
    // By reference type for the dashboard, and over all reference types for the alarms.
    expect(metricValues(documents, Metric.paymentsDetected)).toEqual([
      { value: 1, dimensions: { ...DIMENSIONS, reference_type: 'deposit' } },
      { value: 1, dimensions: DIMENSIONS },
    ]);
    expect(documents.every((document) => document._aws.CloudWatchMetrics[0]!.Namespace === 'PaymentMonitor')).toBe(true);

    const second = await captureOutput(() => handler(sqsEvent(chain.forward([chain.next()])), lambdaContext('processor')));
    expect(second.result).toEqual({ batchItemFailures: [] });
    const warm = emfDocuments(second.lines);
    expect(metricValues(warm, 'ColdStart')).toHaveLength(0);
    expect(metricValues(warm, Metric.syncHeight)).toEqual([{ value: 3, dimensions: DIMENSIONS }]);
    // The correlation keys of one record never leak into later lines.
    expect(second.lines.some((line) => line.block_id === chain.at(1n).hash || line.message_id === event.Records[0]!.messageId)).toBe(false);
  });

  it('sets a poison message aside (logged at error, counted) and fails nothing: the leader follows again', async () => {
    const chain = new ChainBuilder('poison');
    const event = sqsEvent(chain.forward([chain.next()]));
    event.Records.unshift({ ...event.Records[0]!, messageId: 'poison-1', body: '{"version":2}' });
    const { result, lines } = await captureOutput(() => handler(event, lambdaContext('processor')));
    expect(result.batchItemFailures).toEqual([]);
    expect(lines.find((line) => line.message === 'poison_message')).toMatchObject({
      level: 'ERROR',
      message_id: 'poison-1',
      path: '$.network',
    });
    expect(lines.find((line) => line.message === LogEvent.pipelineRecovered)).toMatchObject({
      level: 'ERROR',
      kind: 'poison',
      generation_to: String(generation + 1n),
    });
    // By kind for the dashboard, and over all kinds for the alarm.
    expect(metricValues(emfDocuments(lines), Metric.pipelineRecoveries)).toEqual([
      { value: 1, dimensions: { ...DIMENSIONS, kind: 'poison' } },
      { value: 1, dimensions: DIMENSIONS },
    ]);
    const { rows } = await db.pool.query('SELECT kind, message_id, message_body FROM pipeline_recoveries');
    expect(rows).toEqual([{ kind: 'poison', message_id: 'poison-1', message_body: '{"version":2}' }]);
  });
});

describe('processor settings', () => {
  it('takes DATABASE_URL as it is, or composes one from the libpq variables with the password encoded', async () => {
    expect(await resolveDatabaseConnection({ DATABASE_URL: 'postgres://u:p@db:5432/pm' })).toEqual({
      connectionString: 'postgres://u:p@db:5432/pm',
    });
    const connection = await resolveDatabaseConnection({
      PGHOST: 'db.internal',
      PGDATABASE: 'payments',
      PGUSER: 'monitor',
      PGPASSWORD: 'p@ss:w/rd?#',
      PGSSLMODE: 'verify-full',
    });
    const composed = 'connectionString' in connection ? connection.connectionString : '';
    expect(composed).toBe('postgres://monitor:p%40ss%3Aw%2Frd%3F%23@db.internal:5432/payments?sslmode=verify-full');
    expect(decodeURIComponent(new URL(composed).password)).toBe('p@ss:w/rd?#');
  });

  it('refuses a missing or foreign database URL without repeating it (it holds a password)', async () => {
    await expect(resolveDatabaseConnection({})).rejects.toThrow(
      'DATABASE_URL is not set: give the PostgreSQL connection URL of the engine database, DATABASE_SECRET_ARN (an RDS-managed secret), or PGHOST',
    );
    await expect(resolveDatabaseConnection({ DATABASE_URL: 'mysql://u:secret@db/pm' })).rejects.toThrow(
      /must be a postgres:\/\/ URL; got a mysql: URL$/,
    );
    await expect(resolveDatabaseConnection({ DATABASE_URL: 'secret-password' })).rejects.toThrow(/^DATABASE_URL is not a URL$/);
  });

  it('sizes the pool to one connection per instance unless told otherwise', () => {
    expect(readProcessorSettings({ NETWORK: 'preprod' })).toEqual({ network: 'preprod', confirmations: 15, dbPoolMax: 1 });
    expect(readProcessorSettings({ DB_POOL_MAX: '2', CONFIRMATIONS: '30', CLAIM_CHECK_BUCKET: 'claims' })).toMatchObject({
      dbPoolMax: 2,
      confirmations: 30,
      claimCheckBucket: 'claims',
    });
    expect(readProcessorSettings({ CHAIN_EVENT_QUEUE_URL: ' https://sqs.eu-west-1.amazonaws.com/1/q.fifo ' })).toMatchObject({
      chainEventQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo',
    });
    expect(() => readProcessorSettings({ DB_POOL_MAX: '0' })).toThrow('DB_POOL_MAX must be a whole number ≥ 1; got "0"');
  });
});
