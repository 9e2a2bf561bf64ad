import type { MetricDimensions, Metrics } from '../../domain/ports.js';

export interface MetricsSnapshot {
  gauges: Record<string, number>;
  counters: Record<string, number>;
  distributions: Record<string, { count: number; sum: number; min: number; max: number }>;
}

/** Metrics kept in the process: the local stack's status page and tests read them. */
export class InMemoryMetrics implements Metrics {
  private readonly gauges = new Map<string, number>();
  private readonly counters = new Map<string, number>();
  private readonly distributions = new Map<string, { count: number; sum: number; min: number; max: number }>();

  gauge(name: string, value: number, dimensions?: MetricDimensions): void {
    this.gauges.set(keyOf(name, dimensions), value);
  }

  count(name: string, value = 1, dimensions?: MetricDimensions): void {
    const key = keyOf(name, dimensions);
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
  }

  observe(name: string, value: number, dimensions?: MetricDimensions): void {
    const key = keyOf(name, dimensions);
    const current = this.distributions.get(key) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
    this.distributions.set(key, {
      count: current.count + 1,
      sum: current.sum + value,
      min: Math.min(current.min, value),
      max: Math.max(current.max, value),
    });
  }

  snapshot(): MetricsSnapshot {
    return {
      gauges: Object.fromEntries(this.gauges),
      counters: Object.fromEntries(this.counters),
      distributions: Object.fromEntries(this.distributions),
    };
  }
}

/** `name` or `name{key=value,…}` with keys sorted, so one series always has one key. */
function keyOf(name: string, dimensions?: MetricDimensions): string {
  if (!dimensions || Object.keys(dimensions).length === 0) return name;
  const labels = Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return `${name}{${labels}}`;
}
