/**
 * The Fargate entry point as a real process: `node functions/follower/main.ts` with the environment a task gets,
 * against the Ogmios simulator, a real PostgreSQL, dynalite and local-aws-sqs (AWS_ENDPOINT_URL_* point the SDK at
 * them). It must lead, emit to the FIFO queue with its fencing token, serve its health endpoints, pass the
 * container health check, write EMF, and on SIGTERM release the lease and exit 0 within its budget.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDynalite, type LocalDynamoDb } from '../support/dynalite.js';

const LOCAL_AWS = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

let simulator: OgmiosSimulator;
let dynamo: LocalDynamoDb;
let sqsServer: Server;
let sqs: SQSClient;
let queueUrl: string;
let db: TestDatabase;

beforeAll(async () => {
  [simulator, dynamo, db] = await Promise.all([
    startOgmiosSimulator({ seed: 'follower-main', network: 'preprod', initialBlocks: 25, transactionsPerBlock: { min: 1, max: 2 } }),
    startDynalite(),
    createTestDatabase(),
  ]);
  await createLeaseTable(dynamo.client(), 'leases');
  sqsServer = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  const sqsEndpoint = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;
  sqs = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  ({ QueueUrl: queueUrl = '' } = await sqs.send(
    new CreateQueueCommand({ QueueName: 'chain-events.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
  ));
});

afterAll(async () => {
  sqs?.destroy();
  await new Promise<void>((resolve) => (sqsServer ? sqsServer.close(() => resolve()) : resolve()));
  await Promise.all([simulator?.stop(), dynamo?.stop(), db?.drop()]);
});

/** The follower process; its stdout lines (JSON logs and EMF documents) parsed as they come. */
function startFollower(): { child: ChildProcess; lines: Record<string, unknown>[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/follower/main.ts'], {
    env: {
      PATH: process.env.PATH,
      ...LOCAL_AWS,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`,
      OGMIOS_URL: simulator.url,
      DATABASE_URL: db.url,
      NETWORK: 'preprod',
      START_POINT: 'origin',
      LEASE_TABLE: 'leases',
      STAGE: 'test',
      HEALTH_PORT: '0',
      LEASE_DURATION_MS: '3000',
      LEASE_RENEW_INTERVAL_MS: '1000',
      LEASE_SAFETY_MARGIN_MS: '1000',
      LEASE_ACQUIRE_INTERVAL_MS: '500',
      SHUTDOWN_BUDGET_MS: '8000',
      METRICS_INTERVAL_MS: '200',
      CHAIN_EVENT_QUEUE_URL: queueUrl,
      CLAIM_CHECK_BUCKET: 'claim-checks',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const complete = text.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) if (line.trim().startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const started = performance.now();
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function runHealthCheck(port: number): Promise<number | null> {
  const check = spawn(process.execPath, ['--import', 'tsx', 'functions/follower/health-check.ts'], {
    env: { PATH: process.env.PATH, HEALTH_PORT: String(port) },
    stdio: 'ignore',
  });
  return new Promise((resolve) => check.once('exit', (code) => resolve(code)));
}

describe('the follower process (main.ts)', () => {
  it('leads, emits to SQS FIFO with its token, is healthy, writes EMF, and hands over on SIGTERM', async () => {
    const { child, lines, exited } = startFollower();
    try {
      const started = await until(() => lines.find((line) => line.event === 'follower_started'), 'the follower to start');
      const port = Number(started.healthPort);
      await until(() => lines.find((line) => line.event === 'lease_acquired'), 'the lease');
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      expect(Messages.length).toBeGreaterThan(0);
      expect(Messages[0]!.MessageAttributes?.fence?.StringValue).toBe('1');
      expect(Messages[0]!.MessageAttributes?.generation?.StringValue).toBe('0');

      const live = (await (await fetch(`http://127.0.0.1:${port}/health/live`)).json()) as Record<string, unknown>;
      expect(live).toMatchObject({ status: 'alive', role: 'leader', fence_token: '1', generation: '0', ogmios_connected: true });
      // Nothing is applied (no processor runs here): the tutorial's rule says not ready.
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, reason: 'not_synced', role: 'leader' });
      expect(await runHealthCheck(port)).toBe(0);

      await until(
        () => lines.find((line) => line.follower_leader === 1 && line.stage === 'test' && typeof line.follower_emitted_height === 'number'),
        'EMF with leader and emitted height',
      );
      child.kill('SIGTERM');
      const signalled = performance.now();
      expect(await exited).toBe(0);
      expect(performance.now() - signalled).toBeLessThan(8_000);
      expect(lines.find((line) => line.event === 'lease_released')).toBeDefined();
      const { Item } = await dynamo
        .client()
        .send(new GetItemCommand({ TableName: 'leases', Key: { leaseName: { S: 'follower#preprod' } }, ConsistentRead: true }));
      expect(Item?.released?.BOOL).toBe(true);
      expect(await runHealthCheck(port)).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
