import { Stack, type StackProps } from 'aws-cdk-lib';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { StageConfig } from '../config.js';
import { PaymentMonitorMonitoring } from '../constructs/monitoring/index.js';
import { STORAGE_AUTOSCALING_FACTOR } from '../constructs/payment-database.js';
import type { OperationsFunctionName } from '../constructs/monitoring/watched-metrics.js';
import { functionName, stageNames, type StageFunction } from '../naming.js';
import type { ApiStack } from './api-stack.js';
import type { DataStack } from './data-stack.js';
import type { EventsStack } from './events-stack.js';
import type { IngestStack } from './ingest-stack.js';
import type { OperationsStack } from './operations-stack.js';
import { dashboardUrl, operatorOutputs } from './outputs.js';
import type { ProcessingStack } from './processing-stack.js';
import { queueByName } from './runtime-access.js';

export interface ObservabilityStackProps extends StackProps {
  readonly config: StageConfig;
  /** The stacks it watches: deployed before it, but never referred to (every name it needs is fixed, lib/naming.ts). */
  readonly data: DataStack;
  readonly processing: ProcessingStack;
  readonly ingest: IngestStack;
  readonly operations: OperationsStack;
  readonly events: EventsStack;
  readonly api: ApiStack;
}

/**
 * The alarms of the catalogue, the warning and critical topics, and the stage's dashboard (lib/constructs/monitoring).
 * Everything it watches is named, not imported: a CloudFormation export would pin its resource in the producing
 * stack ("Export … in use"), e.g. the hot-wallet function when a stage stops listing hot-wallet addresses.
 */
export class ObservabilityStack extends Stack {
  readonly monitoring: PaymentMonitorMonitoring;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config } = props;
    for (const stack of [props.data, props.events, props.processing, props.ingest, props.operations, props.api])
      this.addStackDependency(stack, 'it watches its resources');
    const names = stageNames(config.stage);
    // The ARN in full (the partition from the region, not the AWS::Partition token), so that the metrics' FunctionName
    // dimension is the plain name rather than an expression taking the ARN apart.
    const partition = RegionInfo.get(this.region).partition ?? 'aws';
    const fn = (stageFunction: StageFunction): IFunction =>
      LambdaFunction.fromFunctionAttributes(this, `${stageFunction}Function`, {
        functionArn: `arn:${partition}:lambda:${this.region}:${this.account}:function:${functionName(config.stage, stageFunction)}`,
        sameEnvironment: true,
      });
    // Present exactly when the Operations stack creates them (the hot-wallet function only with addresses).
    const watched: OperationsFunctionName[] = [
      'health',
      'reconciliation',
      'rebuild',
      'backupExport',
      'partitionMaintenance',
      'migration',
      'api',
      'apiAuthorizer',
      'eventPublisher',
      'webhookScheduler',
      'webhookDeliverer',
      'payoutProcessor',
    ];
    if (config.hotWalletAddresses.length > 0) watched.push('hotWallet');

    this.monitoring = new PaymentMonitorMonitoring(this, 'Monitoring', {
      stage: config.stage,
      thresholds: config.alarms,
      alertEmails: config.alertEmails,
      chainEventQueue: queueByName(this, 'ChainEventQueue', names.chainEventQueue),
      deadLetterQueue: queueByName(this, 'DeadLetterQueue', names.deadLetterQueue),
      processor: fn('processor'),
      functions: Object.fromEntries(watched.map((name) => [name, fn(name)])),
      database: {
        instanceIdentifier: names.databaseInstance,
        maxAllocatedStorageGiB: config.database.allocatedStorageGiB * STORAGE_AUTOSCALING_FACTOR,
      },
      follower: { clusterName: names.cluster, serviceName: names.followerService },
      hotWalletAddresses: config.hotWalletAddresses,
      frontDoor: {
        // Both REST APIs' stages carry the stage's name (api-stack.ts).
        apis: [
          { label: 'API keys', apiName: names.restApi, stageName: config.stage },
          // The IAM API exists only with IAM principals (api-stack.ts).
          ...(config.api.iamPrincipals.length > 0 ? [{ label: 'IAM', apiName: names.iamRestApi, stageName: config.stage }] : []),
        ],
        webhookQueue: queueByName(this, 'WebhookQueue', names.webhookQueue),
        webhookDeadLetterQueue: queueByName(this, 'WebhookDeadLetterQueue', names.webhookDeadLetterQueue),
      },
    });

    operatorOutputs(this, {
      DashboardUrl: { value: dashboardUrl(this, names.dashboard), description: 'The stage dashboard (CloudWatch console)' },
      WarningTopicArn: { value: this.monitoring.topics.warning.topicArn, description: 'Warning alarms (e-mail subscribers confirm once)' },
      CriticalTopicArn: {
        value: this.monitoring.topics.critical.topicArn,
        description: 'Critical alarms (e-mail subscribers confirm once)',
      },
    });
  }
}
