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
  'api',
  'apiAuthorizer',
  'eventPublisher',
  'webhookScheduler',
  'webhookDeliverer',
  'payoutProcessor',
] as const;
export type OperationsFunctionName = (typeof OPERATIONS_FUNCTIONS)[number];

export type WatchedQueue = 'chainEvents' | 'deadLetter' | 'webhooks' | 'webhookDeadLetter';
export type ApiMetricName = 'Count' | '4XXError' | '5XXError' | 'Latency' | 'IntegrationLatency';

/** How each function appears in alarm names (`payment-monitor-<stage>-<Label>Errors`) and on the dashboard. */
export const FUNCTION_LABELS: Readonly<Record<OperationsFunctionName, string>> = {
  health: 'Health',
  reconciliation: 'Reconciliation',
  rebuild: 'Rebuild',
  hotWallet: 'HotWalletFunction',
  backupExport: 'BackupExport',
  migration: 'Migration',
  partitionMaintenance: 'PartitionMaintenance',
  api: 'Api',
  apiAuthorizer: 'ApiAuthorizer',
  eventPublisher: 'EventPublisher',
  webhookScheduler: 'WebhookScheduler',
  webhookDeliverer: 'WebhookDeliverer',
  payoutProcessor: 'PayoutProcessor',
};

/** A REST API stage, as API Gateway names its metrics (AWS/ApiGateway, dimensions ApiName and Stage). */
export interface WatchedApi {
  readonly label: string;
  readonly apiName: string;
  readonly stageName: string;
}

/** The HTTP API and the webhook delivery queue (issue 14). */
export interface WatchedFrontDoor {
  /** Every REST API serving the document (the API-key one and the IAM one): the alarms add them up. */
  readonly apis: readonly WatchedApi[];
  readonly webhookQueue: IQueue;
  readonly webhookDeadLetterQueue: IQueue;
}

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
  readonly frontDoor: WatchedFrontDoor;
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

  queue(which: WatchedQueue, metricName: string, options: MetricOptions = {}): Metric {
    const queues: Record<WatchedQueue, IQueue> = {
      chainEvents: this.watched.chainEventQueue,
      deadLetter: this.watched.deadLetterQueue,
      webhooks: this.watched.frontDoor.webhookQueue,
      webhookDeadLetter: this.watched.frontDoor.webhookDeadLetterQueue,
    };
    return queues[which].metric(metricName, options);
  }

  /** One REST API's metric (AWS/ApiGateway by ApiName and Stage). */
  api(api: WatchedApi, metricName: ApiMetricName, options: MetricOptions = {}): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiName: api.apiName, Stage: api.stageName },
      ...options,
    });
  }

  /**
   * A count over every REST API of the front door (CloudWatch cannot add series across a dimension): each series
   * filled with 0 where an API had no request, so that one idle API does not blank the sum.
   */
  apisTotal(metricName: ApiMetricName, statistic: string, period: Duration, label?: string): MathExpression {
    const usingMetrics = Object.fromEntries(
      this.watched.frontDoor.apis.map((api, i) => [
        `api_${metricName.toLowerCase()}_${i}`,
        this.api(api, metricName, { statistic, period }),
      ]),
    );
    return new MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(' + '),
      usingMetrics,
      period,
      label: label ?? `${metricName} (all APIs)`,
    });
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
      case 'api':
        return this.apisTotal(metric.metricName, metric.statistic, period);
      case 'function':
        return this.lambda(fn ?? this.watched.processor, metric.metricName, options);
      case 'database':
        return this.database(metric.metricName, options);
      case 'followerService':
        return this.followerContainerInsights(metric.metricName, options);
    }
  }
}
