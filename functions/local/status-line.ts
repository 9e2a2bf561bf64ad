import { Metric } from '../domain/observability.js';
import type { LocalStack } from './stack.js';

/**
 * One human line on stderr every few seconds: applied height, tip, lag, blocks/s while catching up, payments
 * detected and confirmed, rollbacks. (stdout carries the JSON log lines.)
 */
export function startStatusLine(stack: LocalStack, everyMs = 5000): { stop(): void } {
  let previousBlocks = 0;
  let previousAt = Date.now();
  const timer = setInterval(() => {
    const { gauges, counters } = stack.metrics.snapshot();
    const sum = (name: string) =>
      Object.entries(counters)
        .filter(([key]) => key === name || key.startsWith(`${name}{`))
        .reduce((total, [, value]) => total + value, 0);
    const blocks = sum(Metric.blocksApplied);
    const now = Date.now();
    const rate = ((blocks - previousBlocks) * 1000) / Math.max(1, now - previousAt);
    previousBlocks = blocks;
    previousAt = now;
    const height = gauges[Metric.syncHeight];
    const follower = stack.followerHealth();
    const tip = follower?.tip ? Number(follower.tip.height) : undefined;
    const lag = height !== undefined && tip !== undefined ? Math.max(0, tip - height) : undefined;
    process.stderr.write(
      `[status] height ${height ?? '-'} · tip ${tip ?? '-'} · lag ${lag ?? '-'}` +
        (rate >= 1 ? ` · ${rate.toFixed(0)} blocks/s` : '') +
        ` · payments ${sum(Metric.paymentsDetected)} detected / ${sum(Metric.paymentsConfirmed)} confirmed` +
        ` · rollbacks ${sum(Metric.rollbacks)}` +
        (gauges[Metric.hotWalletBalanceAda] !== undefined ? ` · hot wallet ${gauges[Metric.hotWalletBalanceAda]} ADA` : '') +
        (follower && !follower.connected ? ' · Ogmios disconnected' : '') +
        '\n',
    );
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
