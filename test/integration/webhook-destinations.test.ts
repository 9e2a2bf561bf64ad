/**
 * SSRF: on AWS (private destinations not allowed) the deliverer resolves the name itself, refuses non-public
 * addresses before connecting, and connects to the very address it checked; locally plain http goes to loopback only.
 * A real receiver on loopback shows where the connection went; the resolver is injected.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpWebhookClient, type Resolver } from '../../functions/adapters/http/webhook-client.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let receiver: WebhookReceiver;
const clients: HttpWebhookClient[] = [];
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await receiver.close();
});

function client(allowPrivateDestinations: boolean, resolve?: Resolver): HttpWebhookClient {
  const made = new HttpWebhookClient({ allowPrivateDestinations, ...(resolve ? { resolve } : {}), timeoutMs: 2_000 });
  clients.push(made);
  return made;
}

const request = (url: string) => ({ url, headers: { 'Content-Type': 'application/json' }, body: '{}' });

describe('webhook destinations on AWS (private destinations refused)', () => {
  it.each([
    ['10.0.0.7'],
    ['172.20.1.1'],
    ['192.168.1.10'],
    ['100.64.0.1'],
    ['127.0.0.1'],
    ['169.254.169.254'],
    ['0.0.0.0'],
    ['::1'],
    ['fe80::1'],
    ['fd00::5'],
    ['::ffff:10.0.0.7'],
    ['::ffff:169.254.169.254'],
    ['224.0.0.1'],
  ])('refuses a name that resolves to %s, without connecting', async (address) => {
    let asked = '';
    const refusing = client(false, async (hostname) => {
      asked = hostname;
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    });
    const result = await refusing.send(request('https://hooks.example.com/in'));
    expect(asked).toBe('hooks.example.com');
    expect(result).toMatchObject({ statusCode: null, refused: true, error: expect.stringContaining('non-public') });
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/'],
    ['https://127.0.0.1/x'],
    ['https://[::1]/x'],
    ['https://[::ffff:7f00:1]/x'],
    ['https://10.1.2.3/x'],
    ['https://[fd12::1]/x'],
  ])('refuses the literal address of %s', async (url) => {
    const refusing = client(false, async () => {
      throw new Error('a literal address is not resolved');
    });
    expect(await refusing.send(request(url))).toMatchObject({ refused: true });
  });

  it('a name that does not resolve in time is a timed-out attempt: the lookup is within the deadline', async () => {
    const hanging = new HttpWebhookClient({ allowPrivateDestinations: false, resolve: () => new Promise(() => {}), timeoutMs: 100 });
    try {
      expect(await hanging.send(request('https://hooks.example.com/in'))).toMatchObject({
        statusCode: null,
        error: 'timed out after 100 ms',
      });
    } finally {
      hanging.close();
    }
  });

  it('refuses plain http whatever the address', async () => {
    const refusing = client(false, async () => [{ address: '93.184.216.34', family: 4 }]);
    expect(await refusing.send(request('http://hooks.example.com/in'))).toMatchObject({
      refused: true,
      error: 'DestinationRefusedError: plain http is not allowed',
    });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('the connection goes to the address checked', () => {
  it('connects to the resolved address while the Host header keeps the name', async () => {
    const resolved: string[] = [];
    const local = client(true, async (hostname) => {
      resolved.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    });
    const result = await local.send(request(`http://receiver.test:${receiver.port}/hooks`));
    expect(result).toMatchObject({ statusCode: 200, error: null });
    expect(resolved).toEqual(['receiver.test']);
    expect(receiver.requests[0]!.headers.host).toBe(`receiver.test:${receiver.port}`);
  });

  it('locally, plain http goes to loopback only', async () => {
    const local = client(true, async () => [{ address: '10.0.0.9', family: 4 }]);
    expect(await local.send(request('http://intranet.test/hooks'))).toMatchObject({ refused: true });
    expect(receiver.requests).toHaveLength(0);
  });

  it('over https the certificate and SNI are checked against the name while the connection goes to the checked address', async () => {
    // A self-signed certificate for receiver.test (test/support/tls), trusted by this client only.
    const cert = readFileSync(new URL('../support/tls/receiver-test.crt', import.meta.url));
    const key = readFileSync(new URL('../support/tls/receiver-test.key', import.meta.url));
    const seen: { servername: string | false | null; host: string | undefined }[] = [];
    const server = https.createServer({ key, cert }, (req, res) => {
      seen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const tls = new HttpWebhookClient({
      allowPrivateDestinations: true,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
      ca: cert,
    });
    clients.push(tls);
    try {
      expect(await tls.send(request(`https://receiver.test:${port}/hooks`))).toMatchObject({ statusCode: 200, error: null });
      expect(seen).toEqual([{ servername: 'receiver.test', host: `receiver.test:${port}` }]);
      // another name resolving to the same address does not match the certificate: refused by TLS
      expect(await tls.send(request(`https://other.test:${port}/hooks`))).toMatchObject({
        statusCode: null,
        error: expect.stringMatching(/other\.test|altnames/),
      });
      expect(seen).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
