import { describe, expect, it } from 'vitest';
import { createLambdaMetrics } from '../../functions/adapters/powertools/metrics.js';
import { Metric } from '../../functions/domain/observability.js';
import { captureOutput, emfDocuments, metricValues } from '../support/local-aws.js';

const DIMENSIONS = { service: 'payment-monitor', stage: 'test' };

/** What the processor Lambda prints for the engine's metrics, read back as CloudWatch would (EMF). */
async function emitted(record: (metrics: ReturnType<typeof createLambdaMetrics>) => void) {
  const metrics = createLambdaMetrics({ serviceName: 'payment-monitor', stage: 'test', logLevel: 'info' });
  const { lines } = await captureOutput(async () => {
    record(metrics);
    metrics.publish();
  });
  return emfDocuments(lines);
}

describe('Lambda metrics (Powertools EMF)', () => {
  it('writes a metric with a dimension of its own both by that dimension and to the service/stage series', async () => {
    const documents = await emitted((metrics) => {
      metrics.count(Metric.paymentsDetected, 1, { reference_type: 'invoice' });
      metrics.count(Metric.paymentsDetected, 1, { reference_type: 'deposit' });
      metrics.count(Metric.paymentsReversed, 1, { reference_type: 'invoice' });
    });

    // The dashboard's series, one per reference type…
    expect(metricValues(documents, Metric.paymentsDetected).filter((m) => 'reference_type' in m.dimensions)).toEqual([
      { value: 1, dimensions: { ...DIMENSIONS, reference_type: 'invoice' } },
      { value: 1, dimensions: { ...DIMENSIONS, reference_type: 'deposit' } },
    ]);
    // …and the alarms' series over all of them (an alarm cannot sum across a dimension).
    expect(metricValues(documents, Metric.paymentsDetected).filter((m) => !('reference_type' in m.dimensions))).toEqual([
      { value: [1, 1], dimensions: DIMENSIONS },
    ]);
    expect(metricValues(documents, Metric.paymentsReversed).filter((m) => !('reference_type' in m.dimensions))).toEqual([
      { value: 1, dimensions: DIMENSIONS },
    ]);
  });

  it('writes a metric without dimensions of its own once, to the service/stage series', async () => {
    const documents = await emitted((metrics) => metrics.count(Metric.rollbacks));
    expect(metricValues(documents, Metric.rollbacks)).toEqual([{ value: 1, dimensions: DIMENSIONS }]);
  });
});
