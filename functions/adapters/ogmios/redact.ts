/**
 * Keeps hosted-provider API keys out of logs and error messages.
 *
 * Keys reach us in three places: the `dmtr-api-key` header (OGMIOS_API_KEY / OGMIOS_API_KEY_SECONDARY or their secret), the
 * first hostname label of a Demeter-style URL (`wss://dmtr_ogmios1….mainnet-v6.ogmios-m1.demeter.run`), and,
 * for other proxies, URL userinfo or query strings. Text we did not write (ws and DNS error messages, close
 * reasons) can echo any of them, so every such string goes through a `Redactor` built from all of them.
 */

export const MASK = '***';

/** Replaces every occurrence of each secret in `text` by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  return new Redactor(secrets).text(text);
}

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  constructor(secrets: readonly string[]) {
    this.add(secrets);
  }

  /** Masks these too from now on (keys read from a secret after the redactor was handed out). */
  add(secrets: readonly string[]): void {
    for (const secret of secrets) if (secret.length > 0) this.secrets.add(secret);
    // Longest first, so that a secret containing another is masked whole.
    const distinct = [...this.secrets].sort((a, b) => b.length - a.length);
    // Case-insensitive: URL parsing and DNS lower-case hostnames, so an embedded key may come back lower-cased.
    this.pattern = distinct.length === 0 ? null : new RegExp(distinct.map(escapeRegExp).join('|'), 'gi');
  }

  text(text: string): string {
    return this.pattern === null ? text : text.replace(this.pattern, MASK);
  }

  /** The message of anything thrown, scrubbed. Only the message: a cause chain or stack could hold raw text. */
  errorMessage(error: unknown): string {
    if (error instanceof Error) return this.text(error.message || error.name);
    return this.text(typeof error === 'string' ? error : String(error));
  }
}

/**
 * The URL as it may be logged: a key-like first hostname label or path segment becomes `***`; userinfo, query
 * string and fragment are dropped.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<invalid url>';
  }
  const host = maskKeyLabel(parsed.hostname);
  const port = parsed.port === '' ? '' : `:${parsed.port}`;
  const path =
    parsed.pathname === '/'
      ? ''
      : parsed.pathname
          .split('/')
          .map((segment) => (looksLikeApiKey(segment) ? MASK : segment))
          .join('/');
  return `${parsed.protocol}//${host}${port}${path}`;
}

/** Every part of `url` that may be a credential, in the forms it can appear in (raw and percent-encoded). */
export function secretsInUrl(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // An unparseable URL is never logged as such (redactUrl says '<invalid url>'), but error text may echo it.
    return [url];
  }
  const secrets: string[] = [];
  const firstLabel = parsed.hostname.split('.')[0] ?? '';
  if (!isIpAddress(parsed.hostname) && looksLikeApiKey(firstLabel)) secrets.push(firstLabel);
  for (const segment of parsed.pathname.split('/')) if (looksLikeApiKey(segment)) secrets.push(segment);
  for (const part of [parsed.username, parsed.password]) if (part !== '') secrets.push(part, safeDecode(part));
  for (const [name, value] of parsed.searchParams) {
    if (value !== '' && (CREDENTIAL_PARAMETER.test(name) || looksLikeApiKey(value))) secrets.push(value, encodeURIComponent(value));
  }
  return secrets;
}

const KEY_PREFIXES = /^(dmtr_|ogmios1)/i;
const CREDENTIAL_PARAMETER = /key|token|secret|auth|pass/i;

/**
 * Demeter keys start with `dmtr_` or `ogmios1`; other providers use long random tokens. A label that is long,
 * mixes letters and digits and has no dots is treated as one: masking a harmless label costs nothing, leaking a
 * key costs a rotation.
 */
export function looksLikeApiKey(text: string): boolean {
  if (KEY_PREFIXES.test(text)) return true;
  return text.length >= 24 && /^[A-Za-z0-9_-]+$/.test(text) && /[0-9]/.test(text) && /[A-Za-z]/.test(text);
}

function maskKeyLabel(hostname: string): string {
  if (isIpAddress(hostname)) return hostname;
  const labels = hostname.split('.');
  if (looksLikeApiKey(labels[0] ?? '')) labels[0] = MASK;
  return labels.join('.');
}

function isIpAddress(hostname: string): boolean {
  return hostname.startsWith('[') || /^[0-9.]+$/.test(hostname);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
