import { describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../functions/domain/webhooks/destination.js';
import { validateEndpointUrl } from '../../functions/domain/webhooks/endpoint-url.js';
import { validateEventTypes } from '../../functions/domain/webhooks/event-types.js';
import { afterFailure, retryDelayMs, WEBHOOK_GIVE_UP_AFTER_MS } from '../../functions/domain/webhooks/retry-policy.js';
import { signatureHeader, verifySignature } from '../../functions/domain/webhooks/signature.js';
import { WebhookValidationError } from '../../functions/domain/webhooks/validation-error.js';

describe('destinations', () => {
  it.each([
    '0.0.0.0',
    '10.255.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '127.0.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '224.0.0.251',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'febf::1',
    'fc00::1',
    'fdff::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::10.0.0.1',
    '2002:0a00:0001::1',
    '2001:db8::1',
    '::ffff:0:a9fe:a9fe', // IPv4-translated (SIIT) 169.254.169.254
    '::ffff:0:10.0.0.1',
    '64:ff9b:1::a9fe:a9fe', // local-use NAT64 (RFC 8215)
    '64:ff9b:1::8.8.8.8',
    '2001::a9fe:a9fe', // Teredo (2001::/32, in the IETF block 2001::/23)
    '3fff::1', // documentation (RFC 9637)
    '4000::1', // outside global unicast 2000::/3
    '::a9fe:a9fe',
    'not-an-address',
  ])('refuses %s', (address) => expect(isForbiddenAddress(address)).toBe(true));

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
  ])('allows %s', (address) => expect(isForbiddenAddress(address)).toBe(false));
});

describe('endpoint URLs', () => {
  const aws = { allowPrivateDestinations: false };
  const local = { allowPrivateDestinations: true };
  it('accepts https, and http to loopback only locally', () => {
    expect(validateEndpointUrl('https://hooks.example.com/in', aws).toString()).toBe('https://hooks.example.com/in');
    expect(validateEndpointUrl('http://127.0.0.1:9000/in', local).toString()).toBe('http://127.0.0.1:9000/in');
    expect(validateEndpointUrl('http://localhost:9000/in', local).host).toBe('localhost:9000');
  });
  it.each([
    ['http://hooks.example.com/in', local],
    ['http://127.0.0.1/in', aws],
    ['https://user:pass@hooks.example.com/', aws],
    ['https://hooks.example.com/#frag', aws],
    ['https://169.254.169.254/', aws],
    ['https://[::1]/', aws],
    ['https://localhost/', aws],
    ['ftp://hooks.example.com/', aws],
    ['not a url', aws],
    ['', aws],
  ])('refuses %s', (url, rules) => {
    expect(() => validateEndpointUrl(url, rules)).toThrow(WebhookValidationError);
    try {
      validateEndpointUrl(url, rules);
    } catch (error) {
      expect((error as WebhookValidationError).field).toBe('url');
    }
  });
});

describe('event types', () => {
  it('validates patterns (their matching is SQL: test/integration/webhook-delivery.test.ts)', () => {
    expect(validateEventTypes(['payment.*', 'payment.*', '*'])).toEqual(['payment.*', '*']);
    expect(() => validateEventTypes([])).toThrow(WebhookValidationError);
    expect(() => validateEventTypes(['payment.confirmed', 'payments.*'])).toThrow(/events\[1\]|unknown event type/);
  });
});

describe('retry policy', () => {
  it('backs off exponentially with full jitter from 10 s to 1 h, and gives up after 3 days', () => {
    expect(retryDelayMs(1, () => 0.999)).toBe(9_990);
    expect(retryDelayMs(2, () => 0.999)).toBe(19_980);
    expect(retryDelayMs(30, () => 0.999)).toBe(3_596_400);
    expect(retryDelayMs(5, () => 0)).toBe(1_000);
    const since = new Date('2026-01-01T00:00:00Z');
    expect(afterFailure(since, 3, new Date(since.getTime() + 3600_000), () => 0.5)).toEqual({
      kind: 'retry',
      at: new Date(since.getTime() + 3600_000 + 20_000),
    });
    expect(afterFailure(since, 40, new Date(since.getTime() + WEBHOOK_GIVE_UP_AFTER_MS), () => 0.5)).toMatchObject({ kind: 'disable' });
  });
});

describe('signatures', () => {
  it('one v1 per secret; each verifies; a changed body, another secret or an old timestamp do not', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    const t = Math.floor(now.getTime() / 1000);
    const header = signatureHeader(['whsec_new', 'whsec_old'], t, '{"a":1}');
    expect(header.split(',')).toHaveLength(3);
    expect(verifySignature(header, '{"a":1}', 'whsec_new', now)).toBe(true);
    expect(verifySignature(header, '{"a":1}', 'whsec_old', now)).toBe(true);
    expect(verifySignature(header, '{"a":2}', 'whsec_new', now)).toBe(false);
    expect(verifySignature(header, '{"a":1}', 'whsec_x', now)).toBe(false);
    expect(verifySignature(header, '{"a":1}', 'whsec_new', new Date(now.getTime() + 600_000))).toBe(false);
  });
});
