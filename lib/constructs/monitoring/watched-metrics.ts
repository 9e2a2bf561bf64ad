import type { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, type IMetric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { METRICS_NAMESPACE, MetricDimension } from '../../../functions/domain/observability.js';
import type { WatchedMetric } from './alarm-rules.js';

/** The operations functions besides the processor, by the name the composition root gives them. */
export const OPERATIONS_FUNCTIONS = [
  'health',
  'reconciliation',
  'rebuild',
  'hotWallet',
  'backupExport',
  'migration',
  'partitionMaintenance',
] as const;
export type OperationsFunctionName = (typeof OPERATIONS_FUNCTIONS)[number];

/** How each function appears in alarm names (`payment-monitor-<stage>-<Label>Errors`) and on the dashboard. */
export const FUNCTION_LABELS: Readonly<Record<OperationsFunctionName, string>> = {
  health: 'Health',
  reconciliation: 'Reconciliation',
  rebuild: 'Rebuild',
  hotWallet: 'HotWalletFunction',
  backupExport: 'BackupExport',
  migration: 'Migration',
  partitionMaintenance: 'PartitionMaintenance',
};

export interface WatchedResources {
  readonly stage: string;
  /** The `service` dimension of the Lambdas' metrics (POWERTOOLS_SERVICE_NAME). */
  readonly lambdaServiceName: string;
  /** The `service` dimension of the follower's EMF metrics. */
  readonly followerServiceName: string;
  readonly chainEventQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly processor: IFunction;
  readonly functions: Readonly<Partial<Record<OperationsFunctionName, IFunction>>>;
  readonly databaseInstanceIdentifier: string;
  readonly follower: { readonly clusterName: string; readonly serviceName: string };
}

/** Every CloudWatch metric the alarms and the dashboard read, named once. */
export class WatchedMetrics {
  constructor(readonly watched: WatchedResources) {}

  /** A PaymentMonitor metric of the Lambdas or the follower, over all values of any further dimension. */
  custom(emitter: 'lambdas' | 'follower', metricName: string, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: {
        [MetricDimension.service]: emitter === 'lambdas' ? this.watched.lambdaServiceName : this.watched.followerServiceName,
        [MetricDimension.stage]: this.watched.stage,
      },
      ...options,
    });
  }

  /** One line per value of `dimension` (e.g. payments by reference_type): a SEARCH, for dashboards only. */
  searchBy(metricName: string, dimension: string, statistic: string, period: Duration, label: string): MathExpression {
    const { lambdaServiceName, stage } = this.watched;
    const { service: serviceKey, stage: stageKey } = MetricDimension;
    return new MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${dimension},${serviceKey},${stageKey}} MetricName="${metricName}" ${serviceKey}="${lambdaServiceName}" ${stageKey}="${stage}"', '${statistic}', ${period.toSeconds()})`,
      usingMetrics: {},
      label,
      period,
    });
  }

  queue(which: 'chainEvents' | 'deadLetter', metricName: string, options: MetricOptions = {}): Metric {
    const queue = which === 'chainEvents' ? this.watched.chainEventQueue : this.watched.deadLetterQueue;
    return queue.metric(metricName, options);
  }

  lambda(fn: IFunction, metricName: 'Errors' | 'Throttles' | 'Duration' | 'Invocations', options: MetricOptions = {}): Metric {
    return fn.metric(metricName, options);
  }

  database(metricName: string, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBInstanceIdentifier: this.watched.databaseInstanceIdentifier },
      ...options,
    });
  }

  /** AWS/ECS service metrics of the follower (no Container Insights needed). */
  followerService(metricName: 'CPUUtilization' | 'MemoryUtilization', options: MetricOptions = {}): Metric {
    const { clusterName, serviceName } = this.watched.follower;
    return new Metric({
      namespace: 'AWS/ECS',
      metricName,
      dimensionsMap: { ClusterName: clusterName, ServiceName: serviceName },
      ...options,
    });
  }

  /**
   * ECS Container Insights metrics of the follower's service (namespace ECS/ContainerInsights, dimensions
   * ClusterName and ServiceName), e.g. RunningTaskCount. Written only while Container Insights is on for the cluster.
   */
  followerContainerInsights(metricName: 'RunningTaskCount', options: MetricOptions = {}): Metric {
    const { clusterName, serviceName } = this.watched.follower;
    return new Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: { ClusterName: clusterName, ServiceName: serviceName },
      ...options,
    });
  }

  /** The metric an alarm rule watches; `fn` is the function of a per-function rule (the processor otherwise). */
  forRule(metric: WatchedMetric, period: Duration, fn?: IFunction): IMetric {
    const options = { statistic: metric.statistic, period };
    switch (metric.kind) {
      case 'custom':
        return this.custom(metric.emitter, metric.metricName, options);
      case 'queue':
        return this.queue(metric.queue, metric.metricName, options);
      case 'function':
        return this.lambda(fn ?? this.watched.processor, metric.metricName, options);
      case 'database':
        return this.database(metric.metricName, options);
      case 'followerService':
        return this.followerContainerInsights(metric.metricName, options);
    }
  }
}
