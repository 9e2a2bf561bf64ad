/**
 * Validation of Ogmios messages against the official v6.14 schema in the shared folder (ogmios.json and
 * cardano.json for JSON-RPC, openapi.yaml for /health), with ajv 8; and RawOgmiosConnection, which captures the
 * exact text of each message a server sends, as validation (and bigint-exact checks) need it.
 *
 * Adjustments, each a defect of the published schema that real Ogmios output also trips on:
 * - `cardano.json#/definitions/Value/propertyNames` (`^[0-9a-f]{56}$`) rejects the `ada` key every Value has;
 *   relaxed to `^(ada|[0-9a-f]{56})$` (vectors/CATALOG.md).
 * - `ogmios.json#/properties/RpcError` requires a property named "string" next to `code`; it means `message`.
 * - openapi.yaml `Health` (OpenAPI 3.0): `type: null` is not a type there (made "null"); patterns are written
 *   between slashes (slashes removed); the block id pattern allows 32 hex digits where a blake2b-256 id has 64;
 *   the version pattern allows one digit per number (so not "v6.14.0") and misplaces the space before the
 *   commit; `lastKnownTip` says `type: object` while allowing "origin". Each is corrected below.
 *
 * Messages are validated as a `JSON.parse` copy: ajv knows numbers, not bigints.
 */
import AjvModule from 'ajv';
import type { ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { OGMIOS_DIR, requireShared } from './shared-files.js';

const Ajv = AjvModule.default;
const SCHEMA_DIR = `${OGMIOS_DIR}/schema/v6.14`;

type Schema = { [key: string]: unknown };

export class OgmiosSchemas {
  private readonly ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false, logger: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly healthValidator: ValidateFunction;

  constructor() {
    const cardano = readSchema('cardano.json');
    const definitions = cardano.definitions as Record<string, Schema>;
    (definitions.Value as Schema).propertyNames = { pattern: '^(ada|[0-9a-f]{56})$' };
    const ogmios = readSchema('ogmios.json');
    const rpcError = (ogmios.properties as Record<string, Schema>).RpcError as Schema;
    ((rpcError.properties as Record<string, Schema>).error as Schema).required = ['code', 'message'];
    this.ajv.addSchema(cardano, 'cardano.json');
    this.ajv.addSchema(ogmios, 'ogmios.json');
    this.healthValidator = this.ajv.compile(readHealthSchema());
  }

  /**
   * Errors of `message` (text, or a value to copy through JSON) against `ogmios.json#/properties/<name>`, e.g.
   * "NextBlockResponse"; an empty list when it is valid.
   */
  errors(name: string, message: unknown): string[] {
    let validate = this.compiled.get(name);
    if (validate === undefined) {
      validate = this.ajv.getSchema(`ogmios.json#/properties/${name}`);
      if (validate === undefined) throw new Error(`ogmios.json has no properties/${name}`);
      this.compiled.set(name, validate);
    }
    return this.run(validate, message);
  }

  /** Errors of a /health body against openapi.yaml `components/schemas/Health`. */
  healthErrors(body: unknown): string[] {
    return this.run(this.healthValidator, body);
  }

  private run(validate: ValidateFunction, message: unknown): string[] {
    const copy: unknown = JSON.parse(typeof message === 'string' ? message : JSON.stringify(message));
    if (validate(copy)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
  }
}

/**
 * A WebSocket to an Ogmios-compatible server that keeps every incoming message as raw text, in order. Requests
 * are plain JSON-RPC objects (or raw text, to send malformed input).
 */
export class RawOgmiosConnection {
  private readonly received: string[] = [];
  private readonly waiters: ((message: string) => void)[] = [];
  /** Resolves when the server closes the socket, with its close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const waiter = this.waiters.shift();
      if (waiter) waiter(text);
      else this.received.push(text);
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<RawOgmiosConnection> {
    const socket = new WebSocket(url, { headers, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RawOgmiosConnection(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: string | { method: string; params?: unknown; id?: unknown }): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify({ jsonrpc: '2.0', ...message }));
  }

  /** The next message not read yet (waits up to `timeoutMs`). */
  next(timeoutMs = 5_000): Promise<string> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (message: string): void => {
        clearTimeout(timer);
        resolve(message);
      };
      this.waiters.push(waiter);
    });
  }

  /** Whether a message arrives within `ms` (without consuming it). */
  async quietFor(ms: number): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.length === 0;
  }

  /** Sends a request and returns the next message (the answer, when nothing else is pending). */
  async request(method: string, params?: unknown, id?: unknown): Promise<string> {
    this.send({ method, ...(params === undefined ? {} : { params }), ...(id === undefined ? {} : { id }) });
    return this.next();
  }

  close(): void {
    this.socket.close();
  }
}

function readSchema(file: string): Schema {
  const schema = JSON.parse(readFileSync(requireShared(`${SCHEMA_DIR}/${file}`), 'utf8')) as Schema;
  delete schema.$schema;
  return schema;
}

/** The Health schema of openapi.yaml as JSON Schema, with `$ref`s inlined and the corrections listed above. */
function readHealthSchema(): Schema {
  const yaml = readFileSync(requireShared(`${SCHEMA_DIR}/openapi.yaml`), 'utf8');
  const schemas = (readYamlSection(yaml, 'components') as Schema).schemas as Record<string, Schema>;
  const health = toJsonSchema(schemas.Health, schemas) as Schema;
  const properties = health.properties as Record<string, Schema>;
  const tip = properties.lastKnownTip as Schema;
  delete tip.type;
  const tipObject = (tip.oneOf as Schema[])[0] as Schema;
  ((tipObject.properties as Record<string, Schema>).id as Schema).pattern = '^[a-f0-9]{64}$';
  (properties.version as Schema).oneOf = [
    { type: 'string', pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+( \\([a-f0-9]{8}\\))?$' },
    { type: 'string', pattern: '^nightly( \\([a-f0-9]{8}\\))?$' },
  ];
  return health;
}

/** OpenAPI 3.0 schema → JSON Schema: inline local `$ref`s, `type: null` → "null", strip `/…/` around patterns. */
function toJsonSchema(node: unknown, schemas: Record<string, Schema>): unknown {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, schemas));
  if (typeof node !== 'object' || node === null) return node;
  const object = node as Schema;
  const reference = object.$ref;
  if (typeof reference === 'string' && reference.startsWith('#/components/schemas/')) {
    return toJsonSchema(schemas[reference.slice('#/components/schemas/'.length)], schemas);
  }
  const result: Schema = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'properties') {
      // Property names are data here, not keywords: keep them all.
      result.properties = Object.fromEntries(
        Object.entries(value as Schema).map(([name, schema]) => [name, toJsonSchema(schema, schemas)]),
      );
      continue;
    }
    // Annotations only; `format: ISO 8601` is not a JSON Schema format (times are checked by the tests).
    if (key === 'description' || key === 'examples' || key === 'format') continue;
    if (key === 'type' && value === null) result.type = 'null';
    else if (key === 'pattern' && typeof value === 'string' && /^\/.*\/$/.test(value)) result.pattern = value.slice(1, -1);
    else result[key] = toJsonSchema(value, schemas);
  }
  return result;
}

// ---- A reader for the YAML subset openapi.yaml uses in its `components` section ----
// Block mappings and sequences by indentation, plain and quoted scalars, `|` block scalars, flow sequences of
// scalars, `&anchor` / `*alias`. Enough for this file; not a general YAML parser.

interface YamlLine {
  readonly indent: number;
  readonly text: string;
}

/** Parses the top-level key `section` of a YAML document. */
function readYamlSection(yaml: string, section: string): unknown {
  const all = yaml.split('\n');
  const start = all.indexOf(`${section}:`);
  if (start < 0) throw new Error(`no top-level '${section}:' in the YAML`);
  let end = start + 1;
  while (end < all.length && !/^[^\s#]/.test(all[end] as string)) end++;
  const lines: YamlLine[] = all.slice(start + 1, end).map((line) => ({ indent: line.length - line.trimStart().length, text: line.trim() }));
  return new YamlReader(lines).node(lines.find((line) => line.text !== '')?.indent ?? 0);
}

class YamlReader {
  private position = 0;
  private readonly anchors = new Map<string, unknown>();

  constructor(private readonly lines: YamlLine[]) {}

  node(indent: number): unknown {
    this.skipBlank();
    const line = this.lines[this.position];
    if (line === undefined || line.indent < indent) return null;
    return line.text.startsWith('- ') ? this.sequence(line.indent) : this.mapping(line.indent);
  }

  private mapping(indent: number): Schema {
    const result: Schema = {};
    for (this.skipBlank(); this.current(indent) && !this.currentText().startsWith('- '); this.skipBlank()) {
      const match = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(?:\s+(.*))?$/.exec(this.currentText());
      if (match === null) throw new Error(`unreadable YAML line: ${this.currentText()}`);
      this.position++;
      result[unquote(match[1] as string)] = this.value(match[2] ?? '', indent);
    }
    return result;
  }

  private sequence(indent: number): unknown[] {
    const result: unknown[] = [];
    for (this.skipBlank(); this.current(indent) && this.currentText().startsWith('- '); this.skipBlank()) {
      const item = this.currentText().slice(2);
      if (/^[^"'[{]*?:(\s|$)/.test(item)) {
        // "- key: value" opens a mapping whose keys sit two columns further in.
        this.lines[this.position] = { indent: indent + 2, text: item };
        result.push(this.mapping(indent + 2));
      } else {
        this.position++;
        result.push(scalar(item));
      }
    }
    return result;
  }

  private value(text: string, indent: number): unknown {
    const anchor = /^&(\S+)\s*(.*)$/.exec(text);
    if (anchor !== null) {
      const value = this.value(anchor[2] as string, indent);
      this.anchors.set(anchor[1] as string, value);
      return value;
    }
    if (text.startsWith('*')) return this.anchors.get(text.slice(1));
    if (text === '|' || text === '>') return this.blockScalar(indent);
    if (text === '') return this.node(indent + 1);
    return scalar(text);
  }

  private blockScalar(indent: number): string {
    const parts: string[] = [];
    while (this.position < this.lines.length) {
      const line = this.lines[this.position] as YamlLine;
      if (line.text !== '' && line.indent <= indent) break;
      parts.push(line.text);
      this.position++;
    }
    return parts.join('\n').trim();
  }

  private current(indent: number): boolean {
    const line = this.lines[this.position];
    return line !== undefined && line.indent === indent;
  }

  private currentText(): string {
    return (this.lines[this.position] as YamlLine).text;
  }

  private skipBlank(): void {
    while (this.position < this.lines.length && /^(#.*)?$/.test((this.lines[this.position] as YamlLine).text)) this.position++;
  }
}

function scalar(text: string): unknown {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => scalar(item.trim()));
  }
  if (text === 'null' || text === '~') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return unquote(text);
}

function unquote(text: string): string {
  if (text.startsWith('"') && text.endsWith('"')) return JSON.parse(text) as string;
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
  return text;
}
