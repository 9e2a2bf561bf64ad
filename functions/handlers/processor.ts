/**
 * Processor Lambda: the SQS FIFO event source's consumer. Everything that lives across invocations (pool,
 * engine, clients, logger, metrics) is created once per instance; the work is in processor-core.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createPool } from '../adapters/postgres/pool.js';
import { PostgresPaymentStore } from '../adapters/postgres/payment-store.js';
import { PostgresPipelineRecoveryStore } from '../adapters/postgres/pipeline-recovery-store.js';
import { SqsFailedMessageRetries } from '../adapters/sqs/failed-message-retries.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { S3ClaimCheckStore } from '../adapters/s3/claim-check-store.js';
import { PaymentEngine } from '../domain/payment-engine.js';
import { once } from './lazy.js';
import { processChainEventBatch, type ProcessorCoreOptions } from './processor-core.js';
import { readProcessorSettings, resolveDatabaseConnection } from './runtime-config.js';

const settings = readProcessorSettings(process.env);

const dependencies = once(async (): Promise<ProcessorCoreOptions> => {
  const pool = createPool({ ...(await resolveDatabaseConnection(process.env)), max: settings.dbPoolMax, applicationName: 'payment-monitor-processor' });
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(pool),
    logger,
    metrics,
    clock: { now: () => new Date() },
    network: settings.network,
    confirmations: settings.confirmations,
  });
  const claimChecks = settings.claimCheckBucket ? new S3ClaimCheckStore({ s3: new S3Client({}), bucket: settings.claimCheckBucket }) : undefined;
  const retries = new SqsFailedMessageRetries({ sqs: new SQSClient({}), logger, ...(settings.chainEventQueueUrl ? { queueUrl: settings.chainEventQueueUrl } : {}) });
  return {
    engine,
    network: settings.network,
    recovery: new PostgresPipelineRecoveryStore(pool),
    retries,
    logger,
    metrics,
    clock: { now: () => new Date() },
    ...(claimChecks ? { claimChecks } : {}),
  };
});

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    return await processChainEventBatch(event, await dependencies(), context);
  } finally {
    metrics.publish();
  }
}
