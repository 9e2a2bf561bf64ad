/**
 * The follower's metrics as CloudWatch Embedded Metric Format on stdout, through Powertools Metrics (which works
 * outside Lambda: it writes to process.stdout; the awslogs driver of the task ships the lines to CloudWatch Logs,
 * which extracts the metrics). Namespace `PaymentMonitor`, dimensions `service` and `stage`, like the Lambdas.
 *
 * A long-running process has no invocation to flush at, so values are summarised and written once per interval:
 * - a gauge (tip height, emitted height, leader 0/1) is written with its latest value every interval, changed or
 *   not, so that an alarm on it never sees missing data while the task runs;
 * - a counter (reconnects, messages sent) is written as its sum over the interval, 0 included once it has
 *   been seen, so that "no reconnects" is a datum and not a gap;
 * - an observation is written with every value of the interval.
 */
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_METRICS_INTERVAL_MS, METRICS_NAMESPACE, MetricDimension } from '../../domain/observability.js';
import type { MetricDimensions, Metrics } from '../../domain/ports.js';
import { recordMetric, unitOf } from './emf-record.js';

export interface EmfMetricsOptions {
  serviceName: string;
  stage: string;
  namespace?: string;
  intervalMs?: number;
}

interface Series {
  name: string;
  dimensions: MetricDimensions | undefined;
}

export class EmfMetrics implements Metrics {
  private readonly powertools: PowertoolsMetrics;
  private readonly gauges = new Map<string, Series & { value: number }>();
  private readonly counters = new Map<string, Series & { sum: number }>();
  private readonly observations = new Map<string, Series & { values: number[] }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EmfMetricsOptions) {
    this.powertools = new PowertoolsMetrics({
      namespace: options.namespace ?? METRICS_NAMESPACE,
      serviceName: options.serviceName,
      defaultDimensions: { [MetricDimension.stage]: options.stage },
    });
  }

  gauge(name: string, value: number, dimensions?: MetricDimensions): void {
    if (!Number.isFinite(value)) return;
    this.gauges.set(seriesKey(name, dimensions), { name, dimensions, value });
  }

  count(name: string, value = 1, dimensions?: MetricDimensions): void {
    if (!Number.isFinite(value)) return;
    const key = seriesKey(name, dimensions);
    const series = this.counters.get(key) ?? { name, dimensions, sum: 0 };
    series.sum += value;
    this.counters.set(key, series);
  }

  observe(name: string, value: number, dimensions?: MetricDimensions): void {
    if (!Number.isFinite(value)) return;
    const key = seriesKey(name, dimensions);
    const series = this.observations.get(key) ?? { name, dimensions, values: [] };
    series.values.push(value);
    this.observations.set(key, series);
  }

  /** Writes a summary every interval until stop(). The timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.publish(), this.options.intervalMs ?? DEFAULT_METRICS_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes what the last, partial interval gathered. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.publish();
  }

  /** Writes one EMF document for the metrics without dimensions of their own, one per metric with them. */
  publish(): void {
    for (const { name, dimensions, value } of this.gauges.values())
      recordMetric(this.powertools, name, unitOf(name, MetricUnit.NoUnit), value, dimensions);
    for (const series of this.counters.values()) {
      recordMetric(this.powertools, series.name, unitOf(series.name, MetricUnit.Count), series.sum, series.dimensions);
      series.sum = 0;
    }
    for (const [key, series] of this.observations) {
      for (const value of series.values)
        recordMetric(this.powertools, series.name, unitOf(series.name, MetricUnit.NoUnit), value, series.dimensions);
      this.observations.delete(key);
    }
    if (this.powertools.hasStoredMetrics()) this.powertools.publishStoredMetrics();
  }
}

function seriesKey(name: string, dimensions: MetricDimensions | undefined): string {
  if (!dimensions) return name;
  const labels = Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return labels.length === 0 ? name : `${name}{${labels.join(',')}}`;
}
