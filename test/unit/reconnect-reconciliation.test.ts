import { describe, expect, it } from 'vitest';
import { ReconnectReconciliation, type ConnectionTelemetry } from '../../functions/follower/reconnect-reconciliation.js';
import { RecordingLogger } from '../support/recorders.js';

function setup() {
  let telemetry: ConnectionTelemetry | undefined = { reconnects: 0, caughtUp: true, tipHeight: 20n };
  let now = 0;
  const started: Array<() => void> = [];
  const watcher = new ReconnectReconciliation({
    observe: () => telemetry,
    reconcile: () => new Promise<void>((resolve) => started.push(resolve)),
    logger: new RecordingLogger(),
    minIntervalMs: 60_000,
    now: () => now,
  });
  return {
    watcher,
    started,
    set: (next: ConnectionTelemetry | undefined) => (telemetry = next),
    advance: (ms: number) => (now += ms),
  };
}

describe('reconciliation after a reconnect', () => {
  it('starts one when the connection is back after an outage, not on the first connection', () => {
    const { watcher, started, set } = setup();
    expect(watcher.check()).toBe(false); // first connection
    set({ reconnects: 1, caughtUp: false, tipHeight: undefined });
    expect(watcher.check()).toBe(false); // still away
    set({ reconnects: 2, caughtUp: true, tipHeight: 20n });
    expect(watcher.check()).toBe(true);
    expect(started).toHaveLength(1);
  });

  it('runs one at a time and at most one per interval, but remembers an outage for later', async () => {
    const { watcher, started, set, advance } = setup();
    watcher.check();
    set({ reconnects: 1, caughtUp: true, tipHeight: 20n });
    expect(watcher.check()).toBe(true);
    set({ reconnects: 2, caughtUp: true, tipHeight: 20n });
    expect(watcher.check()).toBe(false); // one is running
    started[0]!();
    await watcher.stop();
    expect(watcher.check()).toBe(false); // within the interval
    advance(60_000);
    expect(watcher.check()).toBe(true); // the remembered outage
    expect(started).toHaveLength(2);
  });

  it('counts reconnects from zero for every new client, whenever it is first seen', async () => {
    const { watcher, started, set, advance } = setup();
    set({ reconnects: 1, caughtUp: true, tipHeight: 20n }); // the outage happened before the first look
    expect(watcher.check()).toBe(true);
    started[0]!();
    await watcher.stop();
    set(undefined); // leadership lost: no client
    expect(watcher.check()).toBe(false);
    set({ reconnects: 0, caughtUp: true, tipHeight: 20n }); // a new client's first connection
    advance(60_000);
    expect(watcher.check()).toBe(false);
    set({ reconnects: 1, caughtUp: true, tipHeight: 20n });
    expect(watcher.check()).toBe(true);
  });

  it('waits until the follower has caught up with the tip, then starts the remembered one', () => {
    const { watcher, started, set } = setup();
    watcher.check();
    set({ reconnects: 1, caughtUp: false, tipHeight: 120n }); // back, still catching up on the outage's blocks
    expect(watcher.check()).toBe(false);
    expect(watcher.check()).toBe(false);
    expect(started).toHaveLength(0);
    set({ reconnects: 1, caughtUp: true, tipHeight: 20n });
    expect(watcher.check()).toBe(true);
    expect(started).toHaveLength(1);
  });
});
