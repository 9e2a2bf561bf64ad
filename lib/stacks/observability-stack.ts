import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { PaymentMonitorMonitoring } from '../constructs/monitoring/index.js';
import type { DataStack } from './data-stack.js';
import type { IngestStack } from './ingest-stack.js';
import type { OperationsStack } from './operations-stack.js';
import type { ProcessingStack } from './processing-stack.js';

export interface ObservabilityStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
  readonly processing: ProcessingStack;
  readonly ingest: IngestStack;
  readonly operations: OperationsStack;
}

/** The alarms of the catalogue, the warning and critical topics, and the stage's dashboard (lib/constructs/monitoring). */
export class ObservabilityStack extends Stack {
  readonly monitoring: PaymentMonitorMonitoring;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, data, processing, ingest, operations } = props;
    this.monitoring = new PaymentMonitorMonitoring(this, 'Monitoring', {
      stage: config.stage,
      thresholds: config.alarms,
      alertEmails: config.alertEmails,
      chainEventQueue: processing.chainEvents.queue,
      deadLetterQueue: processing.chainEvents.deadLetterQueue,
      processor: processing.processor,
      functions: {
        health: operations.health,
        reconciliation: operations.reconciliation,
        rebuild: operations.rebuild,
        backupExport: operations.backupExport,
        partitionMaintenance: operations.partitionMaintenance,
        migration: data.migrations.function,
        ...(operations.hotWallet ? { hotWallet: operations.hotWallet } : {}),
      },
      database: { instance: data.database.instance, allocatedStorageGiB: config.database.allocatedStorageGiB },
      follower: { clusterName: ingest.follower.cluster.clusterName, serviceName: ingest.follower.service.serviceName },
      hotWalletAddresses: config.hotWalletAddresses,
    });
  }
}
