import type { MonitorStatus } from './queries.js';

/** Rows as an aligned text table. */
export function printRows(rows: Record<string, unknown>[], write: (text: string) => void): void {
  if (rows.length === 0) {
    write('(none)');
    return;
  }
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  write(line(columns));
  for (const values of cells) write(line(values));
}

export function printStatus(status: MonitorStatus, write: (text: string) => void): void {
  write(`network           ${status.network ?? 'not recorded yet (the first npm start, follower or address registration records it)'}`);
  write(`applied height    ${status.applied_height ?? 'none (at origin)'}${status.applied_hash ? `  (${status.applied_hash})` : ''}`);
  write(`network tip       ${status.network_tip_height ?? 'unknown'}`);
  write(`lag               ${status.lag ?? 'unknown'} blocks`);
  write(`updated           ${status.updated_at.toISOString()}`);
  write(`addresses         ${status.addresses}`);
  write(
    `payments          ${
      Object.entries(status.payments)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  write(`user balances     ${status.credited_ada} ADA across ${status.users} users`);
  const { pipeline } = status;
  write(
    pipeline.halted_reason === null
      ? `pipeline          following (generation ${pipeline.generation}, fence ${pipeline.fence}; ${pipeline.recoveries_today} recoveries in the last day)`
      : `pipeline          HALTED since ${pipeline.halted_at?.toISOString() ?? '?'}: ${pipeline.halted_reason} — fix the cause, then "pipeline resume"`,
  );
  const rebuild = status.rebuild;
  if (rebuild) {
    write(
      rebuild.status === 'running'
        ? `rebuild           run ${rebuild.run} running: height ${rebuild.progress_height} of ${rebuild.target_height} (from ${rebuild.point_height}), ${rebuild.percent}%, ${rebuild.payments_held} payments held`
        : `rebuild           run ${rebuild.run} ${rebuild.status} ${rebuild.completed_at?.toISOString() ?? ''} (from height ${rebuild.point_height}; ${rebuild.payments_refound} payments found again, ${rebuild.payments_reversed} reversed)`,
    );
  }
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** JSON.stringify's replacer for the CLI's output: bigints as decimal strings, exact. */
export function jsonText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
