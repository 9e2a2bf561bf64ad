import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { MetricDimensions, Metrics } from '../../domain/ports.js';
import { hasDimensions, recordMetric, unitOf } from './emf-record.js';
import { METRICS_NAMESPACE, MetricDimension } from '../../domain/observability.js';
import type { ObservabilitySettings } from './settings.js';

/**
 * The domain's Metrics on Powertools Metrics (CloudWatch EMF on stdout), written as emf-record.ts says: values
 * are buffered and written by publish(), once per invocation; one with dimensions of its own (payments by
 * reference type) is written at once as its own EMF document, and also buffered without them.
 */
export class LambdaMetrics implements Metrics {
  constructor(readonly powertools: PowertoolsMetrics) {}

  gauge(name: string, value: number, dimensions?: MetricDimensions): void {
    this.record(name, unitOf(name, MetricUnit.NoUnit), value, dimensions);
  }

  count(name: string, value = 1, dimensions?: MetricDimensions): void {
    this.record(name, unitOf(name, MetricUnit.Count), value, dimensions);
  }

  observe(name: string, value: number, dimensions?: MetricDimensions): void {
    this.record(name, unitOf(name, MetricUnit.NoUnit), value, dimensions);
  }

  /** Emits the ColdStart metric (by function name) on the first invocation of this instance only. */
  captureColdStart(functionName?: string): void {
    this.powertools.captureColdStartMetric(functionName);
  }

  /** Writes the buffered metrics; call at the end of every invocation, also when it fails. */
  publish(): void {
    if (this.powertools.hasStoredMetrics()) this.powertools.publishStoredMetrics();
  }

  /**
   * A value with dimensions of its own is also recorded without them: CloudWatch never adds series up across a
   * dimension for an alarm, so "no payment detected for 6 h" or "any payment reversed" needs the service/stage
   * series of all reference types, while the dashboard keeps the per-reference-type ones.
   */
  private record(name: string, unit: MetricUnitName, value: number, dimensions: MetricDimensions | undefined): void {
    recordMetric(this.powertools, name, unit, value, dimensions);
    if (hasDimensions(dimensions)) recordMetric(this.powertools, name, unit, value, undefined);
  }
}

export function createLambdaMetrics(settings: ObservabilitySettings): LambdaMetrics {
  return new LambdaMetrics(
    new PowertoolsMetrics({
      namespace: METRICS_NAMESPACE,
      serviceName: settings.serviceName,
      defaultDimensions: { [MetricDimension.stage]: settings.stage },
    }),
  );
}
