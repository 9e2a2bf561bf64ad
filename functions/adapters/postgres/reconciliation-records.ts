/**
 * The database side of reconciliation: payment addresses in id order (keyset pagination, so a million addresses
 * stream through in chunks) with how many unspent payments each holds (what chunks are planned by), the payments
 * at a chunk's addresses with the applied block they belong to, the addresses' openings (what each held when
 * watching it began: address_watch, address_opening_outputs), and the balance check of user_balances against the
 * ledger.
 */
import type pg from 'pg';
import type { AssetQuantity } from '../../domain/chain.js';
import { outputKey, type ChainOutput, type RecordedPayment } from '../../domain/reconciliation/classification.js';
import type {
  AppliedPoint,
  BalanceVerification,
  DatabaseSnapshot,
  InvoiceMismatch,
  InvoiceVerification,
  Opening,
  OpeningGroup,
  ReconciliationRecords,
  RegisteredAddress,
} from '../../domain/reconciliation/ports.js';
import { inTransaction } from './pool.js';
import { invoiceDifferences } from '../../domain/reconciliation/invoice-check.js';
import { INVOICE_COLUMNS, invoiceFromRow, type InvoiceRow, onChainInvoicePayments } from './invoice-rows.js';

/** Invoices read per snapshot by the invoice check. */
const INVOICE_PAGE = 1000;

type AssetsJson = Record<string, Record<string, string>>;

export class PostgresReconciliationRecords implements ReconciliationRecords {
  constructor(private readonly pool: pg.Pool) {}

  async addressesAfter(cursor: bigint, limit: number): Promise<RegisteredAddress[]> {
    const batch = await this.pool.query<{ id: bigint; address: string; opening_read: boolean }>(
      `SELECT a.id, a.address, w.opening_read_at IS NOT NULL AS opening_read
         FROM payment_addresses a LEFT JOIN address_watch w ON w.address = a.address
        WHERE a.id > $1 ORDER BY a.id LIMIT $2`,
      [cursor.toString(), limit],
    );
    if (batch.rows.length === 0) return [];
    // An array, not a join: the planner then probes incoming_payments_address in each partition instead of
    // scanning every payment for a hash join.
    const addresses = batch.rows.map((row) => row.address);
    const counted = await this.pool.query<{ address: string; unspent: bigint }>(
      `SELECT address, count(*) AS unspent FROM incoming_payments
        WHERE address = ANY($1::text[]) AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL
        GROUP BY address`,
      [addresses],
    );
    const unspent = new Map(counted.rows.map((row) => [row.address, Number(row.unspent)]));
    return batch.rows.map((row) => ({
      id: row.id,
      address: row.address,
      recordedUnspent: unspent.get(row.address) ?? 0,
      openingRead: row.opening_read,
    }));
  }

  async paymentsAt(addresses: readonly string[], outputs: readonly ChainOutput[]): Promise<DatabaseSnapshot> {
    // One snapshot: the applied block and the payments are what the engine had committed at the same moment.
    return this.inSnapshot(async (client) => {
      const state = await client.query<{
        last_block_height: bigint | null;
        last_block_slot: bigint | null;
        last_block_hash: string | null;
      }>('SELECT last_block_height, last_block_slot, last_block_hash FROM sync_state WHERE id = 1');
      const { rows } = await client.query<{
        tx_hash: string;
        output_index: number;
        address: string;
        amount_lovelace: bigint;
        assets: AssetsJson;
        status: 'pending' | 'confirmed';
        spent: boolean;
      }>(
        // Spent rows only where the chain holds the output unspent: an address's spent history is never read.
        `SELECT tx_hash, output_index, address, amount_lovelace, assets, status, spent_by_tx_hash IS NOT NULL AS spent
           FROM incoming_payments
          WHERE address = ANY($1::text[]) AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL
         UNION ALL
         SELECT p.tx_hash, p.output_index, p.address, p.amount_lovelace, p.assets, p.status, true
           FROM incoming_payments p JOIN unnest($2::text[], $3::integer[]) AS chain(tx_hash, output_index) USING (tx_hash, output_index)
          WHERE p.address = ANY($1::text[]) AND p.status IN ('pending', 'confirmed') AND p.spent_by_tx_hash IS NOT NULL`,
        [addresses, outputs.map((output) => output.txId), outputs.map((output) => output.index)],
      );
      // What the addresses held when watching began, among the chain's outputs (never an address's whole opening).
      const opening = await client.query<{ tx_hash: string; output_index: number }>(
        `SELECT o.tx_hash, o.output_index
           FROM address_opening_outputs o
           JOIN unnest($2::text[], $3::integer[]) AS chain(tx_hash, output_index) USING (tx_hash, output_index)
          WHERE o.address = ANY($1::text[])`,
        [addresses, outputs.map((output) => output.txId), outputs.map((output) => output.index)],
      );
      const unopened = await client.query<{ address: string }>(
        `SELECT a.address FROM unnest($1::text[]) AS a(address) LEFT JOIN address_watch w ON w.address = a.address
          WHERE w.opening_read_at IS NULL`,
        [addresses],
      );
      const applied = state.rows[0];
      return {
        predating: new Set(opening.rows.map((row) => outputKey(row.tx_hash, row.output_index))),
        unopened: new Set(unopened.rows.map((row) => row.address)),
        applied:
          applied?.last_block_hash && applied.last_block_height !== null && applied.last_block_slot !== null
            ? { hash: applied.last_block_hash, height: applied.last_block_height, slot: applied.last_block_slot }
            : null,
        payments: rows.map(
          (row): RecordedPayment => ({
            txId: row.tx_hash,
            index: row.output_index,
            address: row.address,
            lovelace: row.amount_lovelace,
            assets: assetsFromJson(row.assets),
            status: row.status,
            spent: row.spent,
          }),
        ),
      };
    });
  }

  async openingStarts(addresses: readonly string[]): Promise<OpeningGroup[]> {
    return this.inSnapshot(async (client) => {
      const watched = await client.query<{ address: string; watched_from_height: bigint | null; known: boolean }>(
        `SELECT a.address, w.watched_from_height, w.address IS NOT NULL AS known
           FROM unnest($1::text[]) AS a(address) LEFT JOIN address_watch w ON w.address = a.address
          WHERE w.opening_read_at IS NULL`,
        [addresses],
      );
      if (watched.rows.length === 0) return [];
      // The applied block, and the first block the engine applied (checkpoints keep it once blocks are pruned).
      const state = await client.query<{ height: bigint | null; slot: bigint | null; hash: string | null; first_height: bigint | null }>(
        `SELECT s.last_block_height AS height, s.last_block_slot AS slot, s.last_block_hash AS hash,
                least((SELECT min(height) FROM checkpoints), (SELECT min(height) FROM blocks)) AS first_height
           FROM sync_state s WHERE s.id = 1`,
      );
      const row = state.rows[0];
      const applied: AppliedPoint | null =
        row?.hash && row.height !== null && row.slot !== null ? { hash: row.hash, height: row.height, slot: row.slot } : null;
      if (applied === null) return [{ start: null, applied: null, addresses: watched.rows.map((entry) => entry.address) }];
      const firstHeight = row?.first_height ?? applied.height;
      // Where each address's watching began: the height noted at registration; before the engine's first block,
      // that block (or origin, when the engine followed the chain from its start); unnoted (not registered through
      // payment_addresses' trigger), the applied block: never earlier than the truth, so nothing is falsely missing.
      const startHeight = (entry: { watched_from_height: bigint | null; known: boolean }): bigint | 'origin' => {
        if (!entry.known) return applied.height;
        if (entry.watched_from_height !== null) return entry.watched_from_height;
        return firstHeight === 0n ? 'origin' : firstHeight;
      };
      const groups = new Map<string, { height: bigint | 'origin'; addresses: string[] }>();
      for (const entry of watched.rows) {
        const height = startHeight(entry);
        const key = String(height);
        const group = groups.get(key) ?? { height, addresses: [] };
        group.addresses.push(entry.address);
        groups.set(key, group);
      }
      const heights = [...groups.values()].flatMap((group) => (group.height === 'origin' ? [] : [group.height.toString()]));
      const blocks = await client.query<{ hash: string; height: bigint; slot: bigint }>(
        'SELECT hash, height, slot FROM blocks WHERE height = ANY($1::bigint[])',
        [heights],
      );
      const blockAt = new Map(blocks.rows.map((block) => [block.height, block]));
      return [...groups.values()].map(({ height, addresses: grouped }): OpeningGroup => {
        if (height === 'origin') return { start: 'origin', applied, addresses: grouped };
        const block = blockAt.get(height);
        return { start: block ? { hash: block.hash, height: block.height, slot: block.slot } : null, applied, addresses: grouped };
      });
    });
  }

  async recordOpenings(openings: readonly Opening[]): Promise<void> {
    if (openings.length === 0) return;
    await inTransaction(this.pool, async (client) => {
      const read = [
        openings.map((opening) => opening.address),
        openings.map((opening) => (opening.at === 'origin' ? '-1' : opening.at.height.toString())),
        openings.map((opening) => (opening.at === 'origin' ? null : opening.at.slot.toString())),
        openings.map((opening) => (opening.at === 'origin' ? null : opening.at.hash)),
        openings.map((opening) => opening.exact),
        openings.map((opening) => opening.outputs.length),
      ];
      const readRows = `unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::boolean[], $6::integer[])
                          AS r(address, height, slot, hash, exact, outputs)`;
      // An address registered without its watch start noted (none should be): watched from where it was read.
      await client.query(
        `INSERT INTO address_watch (address, watched_from_height)
         SELECT address, nullif(height, -1) FROM ${readRows} ON CONFLICT (address) DO NOTHING`,
        read,
      );
      // An opening already recorded (another invocation got there first) stays as it was.
      const { rows } = await client.query<{ address: string }>(
        `UPDATE address_watch w
            SET opening_height = r.height, opening_slot = r.slot, opening_hash = r.hash, opening_exact = r.exact,
                opening_outputs = r.outputs, opening_read_at = now()
           FROM ${readRows}
          WHERE w.address = r.address AND w.opening_read_at IS NULL
      RETURNING w.address`,
        read,
      );
      const updated = new Set(rows.map((row) => row.address));
      const held = openings.filter((opening) => updated.has(opening.address)).flatMap((opening) => opening.outputs);
      await client.query('DELETE FROM address_opening_outputs WHERE address = ANY($1::text[])', [[...updated]]);
      if (held.length === 0) return;
      await client.query(
        `INSERT INTO address_opening_outputs (tx_hash, output_index, address, amount_lovelace, assets)
         SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::jsonb[])
         ON CONFLICT DO NOTHING`,
        [
          held.map((output) => output.txId),
          held.map((output) => output.index),
          held.map((output) => output.address),
          held.map((output) => output.lovelace.toString()),
          held.map((output) => JSON.stringify(assetsToJson(output.assets))),
        ],
      );
    });
  }

  async verifyBalances(detailLimit: number): Promise<BalanceVerification> {
    // Every (user, asset) with a stored balance, ledger rows, or both; a missing side counts as zero. Lovelace is
    // stored in user_balances, tokens in user_asset_balances (migration 0017).
    const { rows } = await this.pool.query<{
      users: bigint;
      mismatch_count: bigint;
      mismatches: { user_id: string; asset: string; stored: string; calculated: string }[];
    }>(
      `WITH ledger AS (
         SELECT user_id, asset, sum(CASE WHEN type = 'credit' THEN quantity ELSE -quantity END) AS calculated
           FROM balance_transactions GROUP BY user_id, asset
       ), stored AS (
         SELECT user_id, 'lovelace' AS asset, balance_lovelace::numeric AS stored FROM user_balances
         UNION ALL
         SELECT user_id, asset, quantity FROM user_asset_balances
       ), compared AS (
         SELECT coalesce(s.user_id, l.user_id) AS user_id, coalesce(s.asset, l.asset) AS asset,
                coalesce(s.stored, 0) AS stored, coalesce(l.calculated, 0) AS calculated
           FROM stored s FULL JOIN ledger l ON l.user_id = s.user_id AND l.asset = s.asset
       )
       SELECT (SELECT count(DISTINCT user_id) FROM compared) AS users,
              (SELECT count(*) FROM compared WHERE stored <> calculated) AS mismatch_count,
              coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', user_id, 'asset', asset, 'stored', stored::text,
                                                            'calculated', calculated::text) ORDER BY user_id, asset)
                          FROM (SELECT * FROM compared WHERE stored <> calculated ORDER BY user_id, asset LIMIT $1) detail),
                       '[]'::jsonb) AS mismatches`,
      [detailLimit],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('the balance check returned no row');
    return {
      usersChecked: Number(row.users),
      mismatchCount: Number(row.mismatch_count),
      mismatches: row.mismatches.map((mismatch) => ({
        userId: mismatch.user_id,
        asset: mismatch.asset,
        stored: BigInt(mismatch.stored),
        calculated: BigInt(mismatch.calculated),
      })),
    };
  }

  async verifyInvoices(detailLimit: number): Promise<InvoiceVerification> {
    const result: InvoiceVerification = { invoicesChecked: 0, invoicesHeld: 0, mismatchCount: 0, mismatches: [] };
    let cursor = '';
    for (;;) {
      // One page in one snapshot: the invoices, their on-chain payments and the tip they were judged at agree.
      const page = await this.inSnapshot(async (client) => {
        const { rows: tips } = await client.query<{ height: bigint | null; block_time: Date | null }>(
          'SELECT b.height, b.block_time FROM sync_state s LEFT JOIN blocks b ON b.hash = s.last_block_hash WHERE s.id = 1',
        );
        const tipRow = tips[0];
        const tip = tipRow?.height != null && tipRow.block_time != null ? { height: tipRow.height, time: tipRow.block_time } : null;
        // While a rebuild runs every invoice counts as held: one whose payments are all below the rebuild's point keeps
        // its judgement at the old tip (settled) while the re-derived tip is lower, until the tip climbs back.
        const { rows } = await client.query<InvoiceRow & { held: boolean }>(
          `SELECT ${INVOICE_COLUMNS},
                  EXISTS (SELECT 1 FROM rebuild_runs r WHERE r.status = 'running')
                  OR EXISTS (SELECT 1 FROM rebuild_held_payments h WHERE h.reference_type = 'invoice' AND h.reference_id = i.id) AS held
             FROM invoices i WHERE i.id > $1 ORDER BY i.id LIMIT $2`,
          [cursor, INVOICE_PAGE],
        );
        const judged = rows.filter((row) => !row.held);
        const payments = await onChainInvoicePayments(
          client,
          judged.map((row) => row.id),
        );
        const mismatches: InvoiceMismatch[] = [];
        for (const row of judged) {
          const differences = invoiceDifferences({ invoice: invoiceFromRow(row), payments: payments.get(row.id) ?? [] }, tip);
          if (differences.length > 0) mismatches.push({ invoiceId: row.id, differences });
        }
        return { last: rows.at(-1)?.id ?? null, checked: judged.length, held: rows.length - judged.length, mismatches };
      });
      result.invoicesChecked += page.checked;
      result.invoicesHeld += page.held;
      result.mismatchCount += page.mismatches.length;
      result.mismatches.push(...page.mismatches.slice(0, Math.max(0, detailLimit - result.mismatches.length)));
      if (page.last === null) return result;
      cursor = page.last;
    }
  }

  private inSnapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }
}

export function assetsFromJson(assets: AssetsJson | null): AssetQuantity[] {
  const quantities: AssetQuantity[] = [];
  for (const [policyId, names] of Object.entries(assets ?? {})) {
    for (const [assetName, quantity] of Object.entries(names)) quantities.push({ policyId, assetName, quantity: BigInt(quantity) });
  }
  return quantities;
}

export function assetsToJson(assets: readonly AssetQuantity[]): AssetsJson {
  const json: AssetsJson = {};
  for (const { policyId, assetName, quantity } of assets) (json[policyId] ??= {})[assetName] = quantity.toString();
  return json;
}
