import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { MetricDimensions, Metrics } from '../../domain/ports.js';
import { METRICS_NAMESPACE, type ObservabilitySettings } from './settings.js';

/**
 * The domain's Metrics on Powertools Metrics (CloudWatch EMF on stdout). Metrics without dimensions of their
 * own are buffered and written by publish(), once per invocation; one with dimensions (payments by reference
 * type) is written at once as its own EMF document, since a document's dimensions apply to all its metrics.
 *
 * A value with dimensions of its own is also recorded without them: CloudWatch never adds series up across a
 * dimension for an alarm, so "no payment detected for 6 h" or "any payment reversed" needs the service/stage
 * series of all reference types, while the dashboard keeps the per-reference-type ones.
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

  private record(name: string, unit: MetricUnitName, value: number, dimensions: MetricDimensions | undefined): void {
    // A metric must never fail the work it measures; CloudWatch rejects NaN and infinities anyway.
    if (!Number.isFinite(value)) return;
    if (dimensions && Object.keys(dimensions).length > 0) {
      this.powertools.singleMetric().addDimensions(dimensions).addMetric(name, unit, value);
    }
    this.powertools.addMetric(name, unit, value);
  }
}

/**
 * CloudWatch ties a unit to a metric name, so the unit follows from the name alone (the suffixes of
 * functions/domain/observability.ts); the method only decides for names without a telling suffix.
 */
function unitOf(name: string, fallback: MetricUnitName): MetricUnitName {
  if (name.endsWith('_seconds')) return MetricUnit.Seconds;
  if (name.endsWith('_bytes')) return MetricUnit.Bytes;
  if (name.endsWith('_blocks')) return MetricUnit.Count;
  return fallback;
}

export function createLambdaMetrics(settings: ObservabilitySettings): LambdaMetrics {
  return new LambdaMetrics(
    new PowertoolsMetrics({
      namespace: METRICS_NAMESPACE,
      serviceName: settings.serviceName,
      defaultDimensions: { stage: settings.stage },
    }),
  );
}
