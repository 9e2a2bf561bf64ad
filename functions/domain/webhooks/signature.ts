/**
 * The signature header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
 * one `v1=` per active secret (two during a rotation). The receiver recomputes the HMAC over the raw body with its
 * secret, accepts when one v1 matches (constant-time compare) and t is recent (e.g. within 5 minutes).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Payment-Monitor-Signature';
export const EVENT_ID_HEADER = 'Payment-Monitor-Event-Id';
export const ATTEMPT_HEADER = 'Payment-Monitor-Delivery-Attempt';
export const REDELIVERY_HEADER = 'Payment-Monitor-Redelivery';

export function signatureHeader(secrets: readonly string[], unixSeconds: number, body: string): string {
  const signatures = secrets.map((secret) => `v1=${hmacHex(secret, unixSeconds, body)}`);
  return [`t=${unixSeconds}`, ...signatures].join(',');
}

function hmacHex(secret: string, unixSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
}

/** The receiver's check (what the README shows), used by the tests. */
export function verifySignature(header: string, body: string, secret: string, now: Date, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string]);
  const t = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, t, body), 'hex');
  return parts.some(([key, value]) => key === 'v1' && value.length === 64 && timingSafeEqual(Buffer.from(value, 'hex'), expected));
}

/** A new signing secret: 'whsec_' + 32 random bytes, base64url. The whole string is the HMAC key. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
