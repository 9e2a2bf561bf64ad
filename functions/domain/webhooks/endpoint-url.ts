/**
 * Which URLs an endpoint may have, checked when it is created: `https`, or plain `http` to a loopback host only
 * when the deployment allows private destinations (the local stack). No credentials in the URL, no fragment.
 * Where the name resolves to is checked again at every delivery (destination.ts): this check alone cannot stop
 * a public name that resolves to a private address.
 */
import { isForbiddenAddress, isIpLiteral } from './destination.js';
import { WebhookValidationError } from './validation-error.js';

export interface EndpointUrlRules {
  /** The local stack: http to loopback allowed, private literal addresses allowed. AWS: false. */
  allowPrivateDestinations: boolean;
}

const MAX_URL_LENGTH = 2048;

export function validateEndpointUrl(text: unknown, rules: EndpointUrlRules): URL {
  if (typeof text !== 'string' || text.length === 0) throw new WebhookValidationError('url', 'url is required');
  if (text.length > MAX_URL_LENGTH) throw new WebhookValidationError('url', `url is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookValidationError('url', 'url is not an absolute URL');
  }
  if (url.username !== '' || url.password !== '') throw new WebhookValidationError('url', 'url must not carry credentials');
  if (url.hash !== '') throw new WebhookValidationError('url', 'url must not have a fragment');
  const host = hostOf(url);
  if (url.protocol === 'http:') {
    if (!(rules.allowPrivateDestinations && isLoopbackHost(host))) {
      throw new WebhookValidationError('url', 'url must be https (plain http only to a loopback host in the local stack)');
    }
    return url;
  }
  if (url.protocol !== 'https:') throw new WebhookValidationError('url', 'url must be https');
  if (!rules.allowPrivateDestinations) {
    if (isIpLiteral(host) && isForbiddenAddress(host)) {
      throw new WebhookValidationError('url', 'url points to a private, loopback, link-local or otherwise non-public address');
    }
    if (host === 'localhost' || host.endsWith('.localhost')) throw new WebhookValidationError('url', 'url points to localhost');
  }
  return url;
}

/** The host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
