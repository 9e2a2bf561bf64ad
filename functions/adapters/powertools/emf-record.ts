/**
 * How every process of the product (the Lambdas and the follower) writes one metric value through Powertools
 * Metrics as CloudWatch EMF: the unit follows from the name; a value without dimensions of its own is buffered
 * with the rest, one with dimensions is written at once as an EMF document of its own (a document's dimensions
 * apply to all its metrics).
 */
import { MetricUnit, type Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { MetricDimensions } from '../../domain/ports.js';

export function recordMetric(
  powertools: PowertoolsMetrics,
  name: string,
  unit: MetricUnitName,
  value: number,
  dimensions: MetricDimensions | undefined,
): void {
  // A metric must never fail the work it measures; CloudWatch rejects NaN and infinities anyway.
  if (!Number.isFinite(value)) return;
  if (hasDimensions(dimensions)) powertools.singleMetric().addDimensions(dimensions).addMetric(name, unit, value);
  else powertools.addMetric(name, unit, value);
}

export function hasDimensions(dimensions: MetricDimensions | undefined): dimensions is MetricDimensions {
  return dimensions !== undefined && Object.keys(dimensions).length > 0;
}

/**
 * CloudWatch ties a unit to a metric name, so the unit follows from the name alone (the suffixes of
 * functions/domain/observability.ts); the caller only decides for names without a telling suffix.
 */
export function unitOf(name: string, fallback: MetricUnitName): MetricUnitName {
  if (name.endsWith('_seconds')) return MetricUnit.Seconds;
  if (name.endsWith('_bytes')) return MetricUnit.Bytes;
  if (name.endsWith('_blocks')) return MetricUnit.Count;
  return fallback;
}
