import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../../functions/adapters/ogmios/backoff.js';
import { OgmiosConnectError } from '../../functions/adapters/ogmios/errors.js';
import { RelayRotation } from '../../functions/adapters/ogmios/relays.js';

describe('ReconnectBackoff', () => {
  it('doubles the ceiling on each consecutive failure up to the cap, with full jitter below it', () => {
    const highest = new ReconnectBackoff({ initialDelayMs: 1_000, maxDelayMs: 60_000, random: () => 0.999_999 });
    const delays = Array.from({ length: 9 }, () => highest.nextDelayMs());
    expect(delays).toEqual([999, 1_999, 3_999, 7_999, 15_999, 31_999, 59_999, 59_999, 59_999]);

    const lowest = new ReconnectBackoff({ random: () => 0 });
    expect(Array.from({ length: 5 }, () => lowest.nextDelayMs())).toEqual([0, 0, 0, 0, 0]);
  });

  it('uses 1 s growing to 60 s by default and never exceeds the cap, however long it fails', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.5 });
    expect(backoff.nextDelayMs()).toBe(500);
    expect(backoff.nextDelayMs()).toBe(1_000);
    for (let attempt = 0; attempt < 2_000; attempt++) expect(backoff.nextDelayMs()).toBeLessThanOrEqual(30_000);
  });

  it('starts over after reset', () => {
    const backoff = new ReconnectBackoff({ initialDelayMs: 100, random: () => 0.999_999 });
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    expect(backoff.nextDelayMs()).toBe(399);
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(99);
  });
});

describe('RelayRotation', () => {
  const unauthorized = new OgmiosConnectError('unauthorized', 'refused', 401);
  const refused = new OgmiosConnectError('network', 'ECONNREFUSED');

  it('fails over through the relay list in turn and wraps around', () => {
    const relays = new RelayRotation({ urls: ['ws://a:1', 'ws://b:1', 'ws://c:1'] });
    const visited = [relays.current().url];
    for (let failure = 0; failure < 3; failure++) {
      relays.afterFailure(refused);
      visited.push(relays.current().url);
    }
    expect(visited).toEqual(['ws://a:1', 'ws://b:1', 'ws://c:1', 'ws://a:1']);
    expect(relays.current().relay).toBe(1);
  });

  it('rotates the key on an authorization failure, and moves on once every key was refused', () => {
    const relays = new RelayRotation({ urls: ['ws://a:1', 'ws://b:1'], apiKeys: ['primary', 'secondary'] });
    const seen = (): string => `${relays.current().url} ${relays.current().apiKey}`;
    const steps = [seen()];
    relays.afterFailure(unauthorized);
    steps.push(seen());
    relays.afterFailure(unauthorized);
    steps.push(seen());
    relays.afterFailure(refused);
    steps.push(seen());
    expect(steps).toEqual(['ws://a:1 primary', 'ws://a:1 secondary', 'ws://b:1 primary', 'ws://a:1 primary']);
    expect(relays.combinations).toBe(4);
  });

  it('with a single key, an authorization failure moves to the next relay', () => {
    const relays = new RelayRotation({ urls: ['ws://a:1', 'ws://b:1'], apiKeys: ['only'] });
    relays.afterFailure(unauthorized);
    expect(relays.current()).toMatchObject({ url: 'ws://b:1', apiKey: 'only' });
  });

  it('exposes only redacted URLs and a redactor for every secret it holds', () => {
    const hostnameKey = 'dmtr_ogmios1hostkeyhostkeyhostkey';
    const relays = new RelayRotation({ urls: [`wss://${hostnameKey}.mainnet-v6.ogmios-m1.demeter.run`], apiKeys: ['header-key-123'] });
    expect(relays.current().safeUrl).toBe('wss://***.mainnet-v6.ogmios-m1.demeter.run');
    expect(relays.safeUrls()).toEqual(['wss://***.mainnet-v6.ogmios-m1.demeter.run']);
    expect(relays.redactor.text(`ENOTFOUND ${hostnameKey}.x with header-key-123`)).toBe('ENOTFOUND ***.x with ***');
  });

  it('sends the configured headers with the key on every upgrade, and masks their values too', async () => {
    const relays = new RelayRotation({ urls: ['ws://a:1'], headers: { 'x-provider-project': 'project-secret-9' }, apiKeys: ['key-1'] });
    expect((await relays.connectTo()).headers).toEqual({ 'x-provider-project': 'project-secret-9', 'dmtr-api-key': 'key-1' });
    expect(relays.redactor.text('refused project-secret-9 and key-1')).toBe('refused *** and ***');
  });

  it('needs at least one URL', () => {
    expect(() => new RelayRotation({ urls: [] })).toThrow('at least one');
  });
});
