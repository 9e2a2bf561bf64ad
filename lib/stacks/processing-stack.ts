import { fileURLToPath } from 'node:url';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { ChainEventQueue } from '../constructs/chain-event-queue.js';
import { outboundSecurityGroup } from '../constructs/egress.js';
import { HouseFunction } from '../constructs/house-function.js';
import { functionName, lambdaLogGroupName, stageNames } from '../naming.js';
import { claimCheckBucketName, type DataStack } from './data-stack.js';
import { acknowledgeNag } from '../nag.js';
import { operatorOutputs } from './outputs.js';
import {
  CLAIM_CHECK_KEY_PREFIX,
  claimCheckListing,
  claimCheckObjects,
  databaseEnvironment,
  functionArnByName,
  FUNCTION_SUBNETS,
  grantDatabase,
} from './runtime-access.js';

/** One batch is at most 10 messages of ≤ 50 blocks each; 30 s leaves a wide margin over the measured ~15 ms per 50 blocks. */
export const PROCESSOR_TIMEOUT = Duration.seconds(30);
/** FIFO: one message group per chain, so SQS hands out one batch at a time; 2 is the event source's minimum. */
export const PROCESSOR_MAX_CONCURRENCY = 2;
export const PROCESSOR_BATCH_SIZE = 10;

export interface ProcessingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
}

/** The chain-event FIFO queue (with its DLQ) and the processor Lambda that applies the events to the database. */
export class ProcessingStack extends Stack {
  readonly chainEvents: ChainEventQueue;
  readonly processor: HouseFunction;

  constructor(scope: Construct, id: string, props: ProcessingStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const names = stageNames(config.stage);

    // Retention 14 days and maxReceiveCount 1000 (the construct's defaults): the processor waits out transient
    // failures itself (retry-schedule.ts), so nothing valid reaches the DLQ while its retention lasts.
    this.chainEvents = new ChainEventQueue(this, 'ChainEvents', {
      queueName: names.chainEventQueue,
      consumerTimeout: PROCESSOR_TIMEOUT,
      encryption: 'sqs',
      claimCheckExpiry: data.claimCheckBucket.expiryOf(CLAIM_CHECK_KEY_PREFIX),
    });
    // ChangeMessageVisibility (the processor's retry backoff) comes with the event source's consume grant.
    this.processor = new HouseFunction(this, 'Processor', {
      entry: fileURLToPath(new URL('../../functions/handlers/processor.ts', import.meta.url)),
      functionName: functionName(config.stage, 'processor'),
      description: 'Applies chain events from the FIFO queue to the payment database',
      stage: config.stage,
      timeout: PROCESSOR_TIMEOUT,
      memorySize: 1024,
      logRetentionDays: config.logRetentionDays,
      vpc: data.network.vpc,
      vpcSubnets: FUNCTION_SUBNETS,
      // PostgreSQL through the client group; HTTPS to SQS, S3 (gateway endpoint) and Secrets Manager through its own.
      securityGroups: [
        data.database.clientSecurityGroup,
        outboundSecurityGroup(this, 'ProcessorSecurityGroup', {
          vpc: data.network.vpc,
          description: 'payment-monitor processor: HTTPS to SQS, S3 and Secrets Manager',
        }),
      ],
      environment: {
        NETWORK: config.network,
        CONFIRMATIONS: String(config.confirmations),
        // By its fixed name, not a reference: no export of the Data stack for it.
        CLAIM_CHECK_BUCKET: claimCheckBucketName(config),
        // Where failed messages are postponed (ChangeMessageVisibility); the queue is this stack's own.
        CHAIN_EVENT_QUEUE_URL: this.chainEvents.queue.queueUrl,
        // Woken after a batch that wrote business events (by its fixed name: the Events stack deploys first).
        EVENT_PUBLISHER_FUNCTION_NAME: functionName(config.stage, 'eventPublisher'),
        DB_POOL_MAX: '1',
        ...databaseEnvironment(data),
      },
    });
    grantDatabase(this.processor, data);
    this.processor.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [functionArnByName(this, functionName(config.stage, 'eventPublisher'))],
      }),
    );
    // Reads claim checks only; never writes or deletes them (the lifecycle rule does).
    const claimChecks = claimCheckObjects(config);
    this.processor.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [claimChecks.arn] }));
    this.processor.addToRolePolicy(claimCheckListing(config));
    acknowledgeNag(
      this.processor.role!,
      claimChecks.nagFinding,
      'Claim-check keys are content hashes under chain-events/; the processor may only read objects under that prefix.',
    );
    this.chainEvents.addConsumer(this.processor, { batchSize: PROCESSOR_BATCH_SIZE, maxConcurrency: PROCESSOR_MAX_CONCURRENCY });

    operatorOutputs(this, {
      ChainEventQueueUrl: { value: this.chainEvents.queue.queueUrl, description: 'The chain-event FIFO queue (follower to processor)' },
      DeadLetterQueueUrl: {
        value: this.chainEvents.deadLetterQueue.queueUrl,
        description: 'Its DLQ (DeadLetterQueueNotEmpty): read with aws sqs receive-message, purge once understood',
      },
      ProcessorFunctionName: { value: this.processor.functionName, description: 'Applies the chain events to the database' },
      ProcessorLogGroupName: {
        value: lambdaLogGroupName(functionName(config.stage, 'processor')),
        description: 'aws logs tail <this> --follow',
      },
    });
  }
}
