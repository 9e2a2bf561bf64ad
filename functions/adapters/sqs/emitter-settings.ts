import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Network } from '../../domain/network.js';
import type { Logger, Metrics } from '../../domain/ports.js';
import { S3ClaimCheckStore } from '../s3/claim-check-store.js';
import { SqsChainEventEmitter } from './chain-event-emitter.js';

/** Where the follower emits (read by functions/config/follower-settings.ts). */
export interface EmitterSettings {
  network: Network;
  /** CHAIN_EVENT_QUEUE_URL: the FIFO queue (its name ends in .fifo). */
  queueUrl: string;
  /** CLAIM_CHECK_BUCKET: where messages over 1 MiB go. */
  claimCheckBucket: string;
  /** CLAIM_CHECK_KMS_KEY_ID: SSE-KMS key for claim-check objects; SSE-S3 when unset. */
  claimCheckKmsKeyId?: string;
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
