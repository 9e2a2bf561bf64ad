/**
 * The CLI over the HTTP API (`--api-url`, key from PAYMENT_MONITOR_API_KEY): what the API covers, so that an operator
 * of a deployed stage needs no database access. The commands read as their database twins do; the webhook, event,
 * balance and key commands exist only here. Everything else (reconcile, rebuild, backups…) runs where the database
 * is: on AWS, its Lambda.
 */
import { readFile } from 'node:fs/promises';
import { readAddressCsv } from './address-import.js';
import type { ApiClient } from './api-client.js';
import { CliUsageError } from './cli-usage-error.js';
import { jsonText, printRows } from './output.js';
import { formatAda, parseAda } from '../../domain/money.js';
import type { AmountJson, InvoiceResource } from '../../domain/invoices/invoice-resource.js';
import type { PayoutResource } from '../../domain/payouts/payout-resource.js';
import type { Network } from '../../domain/network.js';
import { readAssetFlag } from './simulate-commands.js';

export const API_USAGE = `  with --api-url <url> (key in PAYMENT_MONITOR_API_KEY), through the HTTP API:
  addresses add|import|list, payments list [--address a] [--user u] [--since iso], payments show <tx hash>#<index>, status
  balances <user id>
  events list [--after <cursor>]   events redeliver <event id> [--endpoint <id>]
  webhooks add <url> --events payment.*,…   webhooks list   webhooks delete <id>   webhooks rotate-secret <id>
  api-keys create --name <n> --scope read|write|admin   api-keys list   api-keys revoke <id>
  accounts add <acct_xvk1… | xpub1…> [--name n] [--gap-limit n]   accounts list
  invoices create --reference-id <id> [--ada <n>] [--asset <policy id>.<asset name hex>=<qty>]… --expires-in <seconds>
                  [--confirmations n] [--address a | --account <acct_…>] [--user u]
  invoices get <inv_…>   invoices list [--status new|processing|settled|expired|invalid] [--reference-id r] [--user u]
  payouts create <destination address> --reference-id <id> [--ada <n>] [--asset <policy id>.<asset name hex>=<qty>]… [--user u]
  payouts get <po_…>   payouts list [--status requested|approved|…|confirmed|failed|cancelled|rejected] [--reference-id r] [--user u]
  payouts approve <po_…>   payouts cancel <po_…> [--reason r]   payouts reject <po_…> [--reason r]   (the actor: the API key)
  POSTs carry --idempotency-key <k> when given (repeat a command safely), else a fresh one`;

export interface ApiCommandOptions {
  'reference-type'?: string;
  'reference-id'?: string;
  user?: string;
  status?: string;
  limit: string;
  address?: string;
  since?: string;
  after?: string;
  cursor?: string;
  endpoint?: string;
  events?: string;
  name?: string;
  scope?: string;
  'idempotency-key'?: string;
  ada?: string;
  asset?: string[];
  'expires-in'?: string;
  confirmations?: string;
  account?: string;
  'gap-limit'?: string;
  reason?: string;
}

interface Page {
  data: Record<string, unknown>[];
  next_cursor?: string | null;
}

/** The API's page and one-line answers, printed as the database commands print theirs (or as JSON with --json). */
export async function apiCommand(
  positionals: string[],
  options: ApiCommandOptions,
  context: { client: ApiClient; network: Network; write: (text: string) => void; json: boolean },
): Promise<number> {
  const { client, write, json } = context;
  const command = positionals.slice(0, 2).join(' ');
  const key = options['idempotency-key'];
  const page = (answer: unknown, columns: string[]) => {
    const { data, next_cursor: next } = answer as Page;
    if (json) write(JSON.stringify(answer, jsonText, 2));
    else {
      printRows(
        data.map((row) => Object.fromEntries(columns.map((column) => [column, flat(row[column])]))),
        write,
      );
      if (next) write(`(more: --cursor ${next})`);
    }
    return 0;
  };
  const one = (answer: unknown, sentence: string) => {
    write(json ? JSON.stringify(answer, jsonText, 2) : sentence);
    return 0;
  };

  if (positionals[0] === 'balances') {
    const userId = required(positionals[1], 'balances needs a user id');
    const answer = (await client.get(`/v1/balances/${encodeURIComponent(userId)}`)) as {
      balance_lovelace: string;
      assets?: Record<string, string>;
      held?: AmountJson;
      available?: AmountJson;
    };
    // One line for ADA, then one per token: `<policy id>.<asset name hex>: <quantity>`; then, while open payouts hold
    // part of it, what they hold and what is available.
    const tokens = Object.entries(answer.assets ?? {}).map(([asset, quantity]) => `\n${userId}: ${quantity} ${asset}`);
    const held = answer.held && describeAmount(answer.held) !== 'nothing' ? answer.held : undefined;
    const holds =
      held && answer.available ? `\n${userId}: held by payouts ${describeAmount(held)}; available ${describeAmount(answer.available)}` : '';
    return one(answer, `${userId}: ${formatAda(BigInt(answer.balance_lovelace))} ADA${tokens.join('')}${holds}`);
  }
  switch (command) {
    case 'addresses add': {
      const address = positionals[2];
      if (!address || options['reference-type'] === undefined || options['reference-id'] === undefined)
        throw new CliUsageError('addresses add needs an address, --reference-type <type> and --reference-id <id>');
      const body = {
        address,
        reference_type: options['reference-type'],
        reference_id: options['reference-id'],
        user_id: options.user ?? null,
      };
      const answer = (await client.post('/v1/addresses', body, key)) as { registered: number };
      return one(answer, answer.registered === 1 ? `Registered ${address}.` : `${address} was already registered with this reference.`);
    }
    case 'addresses import': {
      const file = positionals[2];
      if (!file) throw new CliUsageError('addresses import needs a CSV file');
      // Checked here first, so that every bad line is named by its line number, as without the API.
      const registrations = readAddressCsv(await readFile(file, 'utf8'), context.network);
      if (registrations.length > 1000)
        throw new Error(
          `${file} holds ${registrations.length} addresses; the API registers at most 1,000 at once, all or nothing: split the file`,
        );
      const body = {
        addresses: registrations.map((r) => ({
          address: r.address,
          reference_type: r.referenceType,
          reference_id: r.referenceId,
          user_id: r.userId ?? null,
        })),
      };
      const answer = (await client.post('/v1/addresses', body, key)) as { registered: number; unchanged: number };
      return one(answer, `Imported ${file}: ${answer.registered} registered, ${answer.unchanged} already registered.`);
    }
    case 'addresses list':
      return page(
        await client.get('/v1/addresses', {
          limit: options.limit,
          cursor: options.cursor,
          reference_type: options['reference-type'],
          user_id: options.user,
        }),
        ['address', 'reference_type', 'reference_id', 'user_id', 'created_at'],
      );
    case 'payments list':
      return page(
        await client.get('/v1/payments', {
          limit: options.limit,
          cursor: options.cursor,
          status: options.status,
          address: options.address,
          reference_type: options['reference-type'],
          reference_id: options['reference-id'],
          user_id: options.user,
          since: options.since,
        }),
        ['tx_hash', 'output_index', 'status', 'amount_lovelace', 'reference_type', 'reference_id', 'user_id', 'block'],
      );
    case 'payments show': {
      const match = /^([0-9a-f]{64})#([0-9]+)$/.exec(positionals[2] ?? '');
      if (!match) throw new CliUsageError('payments show needs <tx hash>#<output index>');
      return page(await client.get(`/v1/payments/${match[1]}/${match[2]}`), [
        'status',
        'amount_lovelace',
        'block',
        'detected_at',
        'confirmed_at',
      ]);
    }
    case 'status':
      write(JSON.stringify(await client.get('/v1/status'), jsonText, 2));
      return 0;
    case 'events list':
      return page(await client.get('/v1/events', { limit: options.limit, after: options.after ?? options.cursor }), [
        'id',
        'type',
        'version',
        'created_at',
      ]);
    case 'events redeliver': {
      const id = required(positionals[2], 'events redeliver needs an event id');
      const answer = await client.post(
        `/v1/events/${encodeURIComponent(id)}/redeliver`,
        options.endpoint ? { endpoint_id: options.endpoint } : {},
        key,
      );
      return one(answer, `Redelivery of ${id} queued.`);
    }
    case 'webhooks add': {
      const url = required(positionals[2], 'webhooks add needs a URL and --events <type,…>');
      const events = (options.events ?? '')
        .split(',')
        .map((event) => event.trim())
        .filter(Boolean);
      if (events.length === 0) throw new CliUsageError('webhooks add needs --events, e.g. --events "payment.*"');
      const answer = (await client.post('/v1/webhook-endpoints', { url, events }, key)) as { id: string; secret: string };
      return one(answer, `Endpoint ${answer.id} created. Its signing secret, shown this once: ${answer.secret}`);
    }
    case 'webhooks list':
      return page(await client.get('/v1/webhook-endpoints', { limit: options.limit, cursor: options.cursor }), [
        'id',
        'url',
        'events',
        'status',
        'created_at',
      ]);
    case 'webhooks delete': {
      const id = required(positionals[2], 'webhooks delete needs an endpoint id');
      await client.delete(`/v1/webhook-endpoints/${encodeURIComponent(id)}`);
      return one({ id, deleted: true }, `Endpoint ${id} deleted.`);
    }
    case 'webhooks rotate-secret': {
      const id = required(positionals[2], 'webhooks rotate-secret needs an endpoint id');
      const answer = (await client.post(`/v1/webhook-endpoints/${encodeURIComponent(id)}/rotate-secret`, {}, key)) as { secret: string };
      return one(answer, `New signing secret of ${id}, shown this once (the old one signs too for a while): ${answer.secret}`);
    }
    case 'api-keys create': {
      if (!options.name || !options.scope) throw new CliUsageError('api-keys create needs --name <name> and --scope read|write|admin');
      const answer = (await client.post('/v1/api-keys', { name: options.name, scope: options.scope }, key)) as { id: string; key: string };
      return one(answer, `Key ${answer.id} created, shown this once: ${answer.key}`);
    }
    case 'api-keys list':
      return page(await client.get('/v1/api-keys', { limit: options.limit, cursor: options.cursor }), [
        'id',
        'name',
        'scope',
        'prefix',
        'created_at',
        'revoked_at',
      ]);
    case 'api-keys revoke': {
      const id = required(positionals[2], 'api-keys revoke needs a key id');
      return one(await client.delete(`/v1/api-keys/${encodeURIComponent(id)}`), `Key ${id} revoked.`);
    }
    case 'accounts add': {
      const publicKey = required(positionals[2], 'accounts add needs the account public key (acct_xvk1… or xpub1…)');
      const body = {
        public_key: publicKey,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(options['gap-limit'] === undefined ? {} : { gap_limit: wholeNumberFlag(options['gap-limit'], '--gap-limit') }),
      };
      const answer = (await client.post('/v1/accounts', body, key)) as { id: string; first_address: string; gap_limit: number };
      return one(
        answer,
        `Account ${answer.id} registered (gap limit ${answer.gap_limit}); its first address: ${answer.first_address} (compare it with the wallet's first receiving address).`,
      );
    }
    case 'accounts list':
      return page(await client.get('/v1/accounts', { limit: options.limit, cursor: options.cursor }), [
        'id',
        'name',
        'gap_limit',
        'next_index',
        'first_address',
        'created_at',
      ]);
    case 'payouts create': {
      const destination = positionals[2];
      if (!destination || options['reference-id'] === undefined)
        throw new CliUsageError(
          'payouts create needs a destination address, --reference-id <id> and --ada <n> and/or --asset <policy>.<name hex>=<qty>',
        );
      const body = {
        reference_id: options['reference-id'],
        destination,
        amount: amountFlags(options, 'payouts create'),
        ...(options.user === undefined ? {} : { user_id: options.user }),
      };
      const answer = (await client.post('/v1/payouts', body, key)) as PayoutResource;
      return one(
        answer,
        `Payout ${answer.id} ${answer.status}: ${describeAmount(answer.amount)} to ${answer.destination}` +
          (answer.status === 'requested'
            ? ' (above the approval threshold: another key must approve it).'
            : ` (by ${answer.approved_by}).`),
      );
    }
    case 'payouts get': {
      const id = required(positionals[2], 'payouts get needs a payout id');
      const answer = (await client.get(`/v1/payouts/${encodeURIComponent(id)}`)) as PayoutResource;
      return one(answer, describePayout(answer));
    }
    case 'payouts list': {
      const answer = (await client.get('/v1/payouts', {
        limit: options.limit,
        cursor: options.cursor,
        status: options.status,
        reference_id: options['reference-id'],
        user_id: options.user,
      })) as { data: PayoutResource[]; next_cursor: string | null };
      if (json) return page(answer, []);
      const readable = answer.data.map((payout) => ({ ...payout, amount: describeAmount(payout.amount) }));
      return page({ ...answer, data: readable }, [
        'id',
        'reference_id',
        'status',
        'amount',
        'destination',
        'user_id',
        'requested_by',
        'approved_by',
        'created_at',
      ]);
    }
    case 'payouts approve':
    case 'payouts cancel':
    case 'payouts reject': {
      const action = positionals[1] as 'approve' | 'cancel' | 'reject';
      const id = required(positionals[2], `payouts ${action} needs a payout id`);
      // approve takes no body; cancel and reject an optional reason
      const body = action === 'approve' ? undefined : options.reason === undefined ? {} : { reason: options.reason };
      const answer = (await client.post(`/v1/payouts/${encodeURIComponent(id)}/${action}`, body, key)) as PayoutResource;
      return one(answer, `Payout ${answer.id} ${answer.status} (version ${answer.version}).`);
    }
    case 'invoices create': {
      if (options['reference-id'] === undefined || options['expires-in'] === undefined)
        throw new CliUsageError(
          'invoices create needs --reference-id <id>, --expires-in <seconds> and --ada <n> and/or --asset <policy>.<name hex>=<qty>',
        );
      const amount = amountFlags(options, 'invoices create');
      const body = {
        reference_id: options['reference-id'],
        amount,
        expires_in_seconds: wholeNumberFlag(options['expires-in'], '--expires-in'),
        ...(options.confirmations === undefined ? {} : { confirmations: wholeNumberFlag(options.confirmations, '--confirmations') }),
        ...(options.address === undefined ? {} : { address: options.address }),
        ...(options.account === undefined ? {} : { account_id: options.account }),
        ...(options.user === undefined ? {} : { user_id: options.user }),
      };
      const answer = (await client.post('/v1/invoices', body, key)) as InvoiceResource;
      return one(
        answer,
        `Invoice ${answer.id} created: pay ${describeAmount(answer.amount)} to ${answer.address} by ${answer.expires_at}.`,
      );
    }
    case 'invoices get': {
      const id = required(positionals[2], 'invoices get needs an invoice id');
      const answer = (await client.get(`/v1/invoices/${encodeURIComponent(id)}`)) as InvoiceResource;
      return one(answer, describeInvoice(answer));
    }
    case 'invoices list': {
      const answer = (await client.get('/v1/invoices', {
        limit: options.limit,
        cursor: options.cursor,
        status: options.status,
        reference_id: options['reference-id'],
        user_id: options.user,
      })) as { data: InvoiceResource[]; next_cursor: string | null };
      if (json) return page(answer, []);
      // In a table, amounts as people read them (exact ADA, then each token).
      const readable = answer.data.map((invoice) => ({
        ...invoice,
        amount: describeAmount(invoice.amount),
        paid: describeAmount(invoice.paid),
      }));
      return page({ ...answer, data: readable }, [
        'id',
        'reference_id',
        'status',
        'additional_status',
        'amount',
        'paid',
        'address',
        'expires_at',
      ]);
    }
    default:
      throw new CliUsageError(`"${command}" is not available through the API; run it where the database is reachable`);
  }
}

function required(value: string | undefined, message: string): string {
  if (!value) throw new CliUsageError(message);
  return value;
}

/** A nested value (a block, a list of events) in one table cell. */
function flat(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

function wholeNumberFlag(text: string, flag: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new CliUsageError(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

/** `12.500000 ADA + 100 <policy>.<name>`: exact, ADA left out when none; `nothing` when all is zero. */
function describeAmount(amount: AmountJson): string {
  if (amount.lovelace === '0' && Object.keys(amount.assets).length === 0) return 'nothing';
  const parts = Object.entries(amount.assets).map(([asset, quantity]) => `${quantity} ${asset}`);
  if (amount.lovelace !== '0' || parts.length === 0) parts.unshift(`${formatAda(BigInt(amount.lovelace))} ADA`);
  return parts.join(' + ');
}

/** --ada and --asset as an amount request (decimal strings); at least one is needed. */
function amountFlags(options: ApiCommandOptions, command: string): { lovelace?: string; assets?: Record<string, string> } {
  if (options.ada === undefined && (options.asset ?? []).length === 0)
    throw new CliUsageError(`${command} needs --ada <n> and/or --asset <policy id>.<asset name hex>=<quantity>`);
  let lovelace: bigint | undefined;
  if (options.ada !== undefined) {
    lovelace = parseAda(options.ada);
    if (lovelace === undefined) throw new CliUsageError('--ada must be an amount of ADA with at most 6 decimals, e.g. 12.5');
  }
  const assets: Record<string, string> = {};
  for (const text of options.asset ?? []) {
    const { policyId, assetName, quantity } = readAssetFlag(text);
    assets[`${policyId}.${assetName}`] = quantity;
  }
  return {
    ...(lovelace === undefined ? {} : { lovelace: lovelace.toString() }),
    ...(Object.keys(assets).length > 0 ? { assets } : {}),
  };
}

function describePayout(payout: PayoutResource): string {
  return [
    `${payout.id} (${payout.reference_id}${payout.user_id ? `, user ${payout.user_id}` : ''}): ${payout.status}, version ${payout.version}`,
    `  ${describeAmount(payout.amount)} to ${payout.destination}`,
    `  requested by ${payout.requested_by} at ${payout.created_at}${payout.approved_by ? `, approved by ${payout.approved_by} at ${payout.approved_at}` : ''}`,
    ...(payout.transaction_id ? [`  transaction ${payout.transaction_id}`] : []),
    ...(payout.failure_reason ? [`  reason: ${payout.failure_reason}`] : []),
  ].join('\n');
}

function describeInvoice(invoice: InvoiceResource): string {
  const lines = [
    `${invoice.id} (${invoice.reference_id}${invoice.user_id ? `, user ${invoice.user_id}` : ''}): ${invoice.status}${invoice.additional_status === 'none' ? '' : ` / ${invoice.additional_status}`}`,
    `  asked ${describeAmount(invoice.amount)} at ${invoice.address}${invoice.account ? ` (${invoice.account.id} #${invoice.account.index})` : ''}`,
    `  paid  ${describeAmount(invoice.paid)}${invoice.unexpected_assets.length > 0 ? ` (not asked: ${invoice.unexpected_assets.join(', ')})` : ''}`,
    `  due   ${describeAmount(invoice.due)}`,
    `  expires ${invoice.expires_at}, monitored until ${invoice.monitoring_until}, ${invoice.confirmations} confirmations${invoice.settled_at ? `, settled ${invoice.settled_at}` : ''}`,
  ];
  for (const payment of invoice.payments) {
    lines.push(
      `  payment ${payment.tx_hash}#${payment.output_index} ${payment.status} ${payment.timing} block ${payment.block.height}: ${describeAmount(payment.amount)}`,
    );
  }
  return lines.join('\n');
}
