import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseNetwork, type Network } from '../../domain/network.js';
import type { Logger, Metrics } from '../../domain/ports.js';
import { S3ClaimCheckStore } from '../s3/claim-check-store.js';
import { SqsChainEventEmitter } from './chain-event-emitter.js';

/** Where the follower emits, from the environment the infrastructure provides. */
export interface EmitterSettings {
  network: Network;
  /** CHAIN_EVENT_QUEUE_URL: the FIFO queue (its name ends in .fifo). */
  queueUrl: string;
  /** CLAIM_CHECK_BUCKET: where messages over 1 MiB go. */
  claimCheckBucket: string;
  /** CLAIM_CHECK_KMS_KEY_ID: SSE-KMS key for claim-check objects; SSE-S3 when unset. */
  claimCheckKmsKeyId?: string;
}

export function readEmitterSettings(env: Readonly<Record<string, string | undefined>> = process.env): EmitterSettings {
  const queueUrl = env.CHAIN_EVENT_QUEUE_URL?.trim();
  if (!queueUrl) throw new Error('CHAIN_EVENT_QUEUE_URL is not set: give the URL of the chain-event FIFO queue');
  if (!queueUrl.endsWith('.fifo')) throw new Error(`CHAIN_EVENT_QUEUE_URL must name a FIFO queue (ending in .fifo); got ${queueUrl}`);
  const claimCheckBucket = env.CLAIM_CHECK_BUCKET?.trim();
  if (!claimCheckBucket) throw new Error('CLAIM_CHECK_BUCKET is not set: give the bucket for messages over the SQS size limit');
  const kmsKeyId = env.CLAIM_CHECK_KMS_KEY_ID?.trim();
  return { network: parseNetwork(env.NETWORK), queueUrl, claimCheckBucket, ...(kmsKeyId ? { claimCheckKmsKeyId: kmsKeyId } : {}) };
}

export interface EmitterDependencies {
  logger: Logger;
  metrics?: Metrics;
  /** Default clients use the SDK's credential and region chain (the task role on Fargate). */
  sqs?: SQSClient;
  s3?: S3Client;
}

export function createSqsChainEventEmitter(settings: EmitterSettings, dependencies: EmitterDependencies): SqsChainEventEmitter {
  return new SqsChainEventEmitter({
    sqs: dependencies.sqs ?? new SQSClient({}),
    queueUrl: settings.queueUrl,
    network: settings.network,
    claimChecks: new S3ClaimCheckStore({
      s3: dependencies.s3 ?? new S3Client({}),
      bucket: settings.claimCheckBucket,
      kmsKeyId: settings.claimCheckKmsKeyId,
    }),
    logger: dependencies.logger,
    metrics: dependencies.metrics,
  });
}
