import { describe, expect, it } from 'vitest';
import { looksLikeApiKey, redact, Redactor, redactUrl, secretsInUrl } from '../../functions/adapters/ogmios/redact.js';
import { OgmiosSettingsError } from '../../functions/adapters/ogmios/endpoints.js';
import { readOgmiosSettings } from '../../functions/config/ogmios-settings.js';

const demeterKey = 'dmtr_ogmios1xq3k9h2v5w8lz0c7fd4yrm6tn2';

describe('redactUrl', () => {
  it('masks an API key in the first hostname label (Demeter style)', () => {
    expect(redactUrl(`wss://${demeterKey}.mainnet-v6.ogmios-m1.demeter.run`)).toBe('wss://***.mainnet-v6.ogmios-m1.demeter.run');
    expect(redactUrl('wss://ogmios1abcdefgh.preprod-v6.ogmios-m1.demeter.run/')).toBe('wss://***.preprod-v6.ogmios-m1.demeter.run');
  });

  it('masks a long random label, and leaves ordinary hosts and addresses alone', () => {
    expect(redactUrl('wss://a1b2c3d4e5f6g7h8i9j0k1l2m3.provider.io')).toBe('wss://***.provider.io');
    expect(redactUrl('wss://mainnet-v6.ogmios-m1.demeter.run')).toBe('wss://mainnet-v6.ogmios-m1.demeter.run');
    expect(redactUrl('ws://127.0.0.1:1337')).toBe('ws://127.0.0.1:1337');
    expect(redactUrl('ws://ogmios.internal:1337/')).toBe('ws://ogmios.internal:1337');
    expect(redactUrl('ws://dmtr_ogmios1abc:1337')).toBe('ws://***:1337');
  });

  it('drops userinfo, query string and fragment, and masks key-like path segments', () => {
    expect(redactUrl('wss://user:hunter2@relay.example.com/ogmios?apikey=s3cr3t#x')).toBe('wss://relay.example.com/ogmios');
    expect(redactUrl(`wss://relay.example.com/v6/${demeterKey}`)).toBe('wss://relay.example.com/v6/***');
  });

  it('does not echo text that is not a URL', () => {
    expect(redactUrl(`not a url ${demeterKey}`)).toBe('<invalid url>');
  });
});

describe('secretsInUrl', () => {
  it('collects every credential a URL may carry', () => {
    const secrets = secretsInUrl(`wss://${demeterKey}.mainnet-v6.ogmios-m1.demeter.run/?token=abc%2Fdef&network=mainnet`);
    expect(secrets).toContain(demeterKey);
    expect(secrets).toContain('abc/def');
    expect(secrets).toContain('abc%2Fdef');
    expect(secrets).not.toContain('mainnet');
    expect(secretsInUrl('wss://user:p%40ss@relay.example.com')).toEqual(['user', 'user', 'p%40ss', 'p@ss']);
    expect(secretsInUrl('ws://127.0.0.1:1337')).toEqual([]);
  });
});

describe('redact', () => {
  it('replaces every occurrence, whatever the case', () => {
    expect(redact(`getaddrinfo ENOTFOUND ${demeterKey.toLowerCase()}.x and ${demeterKey.toUpperCase()}`, [demeterKey])).toBe(
      'getaddrinfo ENOTFOUND ***.x and ***',
    );
  });

  it('masks a longer secret whole when it contains a shorter one, and treats secrets literally', () => {
    expect(redact('key=abc.def+1, other=abc', ['abc', 'abc.def+1'])).toBe('key=***, other=***');
    expect(redact('nothing to hide', [])).toBe('nothing to hide');
    expect(redact('a.b', ['', 'x.y'])).toBe('a.b');
  });

  it('scrubs the message of anything thrown', () => {
    const redactor = new Redactor(['s3cret']);
    expect(redactor.errorMessage(new Error('bad key s3cret'))).toBe('bad key ***');
    expect(redactor.errorMessage('plain s3cret')).toBe('plain ***');
  });

  it('recognises keys by prefix or by shape', () => {
    expect(looksLikeApiKey('dmtr_ogmios1abc')).toBe(true);
    expect(looksLikeApiKey('ogmios1qqqqqq')).toBe(true);
    expect(looksLikeApiKey('Zk29aQm1LxV0pR7sT4uW8yB3nC6')).toBe(true);
    expect(looksLikeApiKey('mainnet-v6')).toBe(false);
    expect(looksLikeApiKey('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).toBe(false);
  });
});

describe('readOgmiosSettings', () => {
  it('reads a comma-separated relay list and the primary and secondary keys', () => {
    const endpoints = readOgmiosSettings({
      OGMIOS_URL: ' wss://a.example.com , http://127.0.0.1:1337,,https://b.example.com ',
      OGMIOS_API_KEY: 'primary',
      OGMIOS_API_KEY_SECONDARY: ' secondary ',
    });
    expect(endpoints).toEqual({
      urls: ['wss://a.example.com', 'ws://127.0.0.1:1337', 'wss://b.example.com'],
      apiKeys: ['primary', 'secondary'],
    });
    expect(readOgmiosSettings({ OGMIOS_URL: 'ws://x:1', OGMIOS_API_KEY: '' }).apiKeys).toEqual([]);
  });

  it('refuses a missing or unusable URL without repeating a key', () => {
    expect(() => readOgmiosSettings({})).toThrow(OgmiosSettingsError);
    expect(() => readOgmiosSettings({ OGMIOS_URL: `ftp://${demeterKey}.demeter.run` })).toThrow('ftp://***.demeter.run');
    try {
      readOgmiosSettings({ OGMIOS_URL: `${demeterKey} wss://` });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(demeterKey);
    }
  });
});
