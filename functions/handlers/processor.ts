/**
 * Processor Lambda: the SQS FIFO event source's consumer. Everything that lives across invocations (pool,
 * engine, clients) is created once per instance; the work is in processor-core.ts.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { asynchronousInvocation } from '../adapters/lambda/asynchronous-invocation.js';
import { claimNetwork } from '../adapters/postgres/network-record.js';
import { PostgresPaymentStore } from '../adapters/postgres/payment-store.js';
import { PostgresPipelineRecoveryStore } from '../adapters/postgres/pipeline-recovery-store.js';
import { SqsFailedMessageRetries } from '../adapters/sqs/failed-message-retries.js';
import { S3ClaimCheckStore } from '../adapters/s3/claim-check-store.js';
import { readProcessorSettings } from '../config/lambda-settings.js';
import { PaymentEngine } from '../domain/payment-engine.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { once } from './lazy.js';
import { processChainEventBatch, type ProcessorCoreOptions } from './processor-core.js';

const settings = readProcessorSettings();
const pool = lambdaPool({ max: settings.dbPoolMax, applicationName: 'payment-monitor-processor' });
// After a batch that wrote business events, the publisher is woken at once (its schedule is the safety net).
const wakePublisher = settings.eventPublisherFunctionName
  ? asynchronousInvocation(new LambdaClient({}), settings.eventPublisherFunctionName)
  : undefined;

const dependencies = once(async (): Promise<ProcessorCoreOptions> => {
  const db = await pool();
  // A stage's database holds its network's data: refuse another (recorded on first use; one read per cold start).
  await claimNetwork(db, settings.network);
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(db, { logger }),
    logger,
    metrics,
    clock: { now: () => new Date() },
    network: settings.network,
    confirmations: settings.confirmations,
  });
  const claimChecks = settings.claimCheckBucket
    ? new S3ClaimCheckStore({ s3: new S3Client({}), bucket: settings.claimCheckBucket })
    : undefined;
  const retries = new SqsFailedMessageRetries({
    sqs: new SQSClient({}),
    logger,
    ...(settings.chainEventQueueUrl ? { queueUrl: settings.chainEventQueueUrl } : {}),
  });
  return {
    engine,
    network: settings.network,
    recovery: new PostgresPipelineRecoveryStore(db),
    retries,
    logger,
    metrics,
    clock: { now: () => new Date() },
    ...(claimChecks ? { claimChecks } : {}),
    ...(wakePublisher ? { wakePublisher: () => wakePublisher({ reason: 'batch_wrote_events' }) } : {}),
  };
});

export const handler = lambdaHandler<SQSEvent, SQSBatchResponse>(async (event, context) =>
  processChainEventBatch(event, await dependencies(), context),
);
