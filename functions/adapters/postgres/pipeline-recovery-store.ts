/**
 * The pipeline's recoveries on PostgreSQL (rules: domain/pipeline-recovery.ts), each in one transaction under the
 * engine's sync_state lock, so that no chain event is applied halfway through one.
 */
import type pg from 'pg';
import { decideRecovery, type PipelineRecoveryStore, type RecoveryCause, type RecoveryOutcome } from '../../domain/pipeline-recovery.js';
import { inTransaction } from './pool.js';

interface PipelineStateRow {
  sync_generation: bigint;
  fence_token: bigint;
  applied_step: bigint;
  halted_reason: string | null;
  last_block_height: bigint | null;
  recovery_streak: number;
  recovery_streak_height: bigint | null;
}

export class PostgresPipelineRecoveryStore implements PipelineRecoveryStore {
  constructor(private readonly pool: pg.Pool) {}

  recover(cause: RecoveryCause, actor: string): Promise<RecoveryOutcome> {
    return inTransaction(this.pool, async (client) => {
      const state = await lockPipelineState(client);
      const decision = decideRecovery(
        {
          session: {
            generation: state.sync_generation,
            fence: state.fence_token,
            appliedStep: state.applied_step,
            haltedReason: state.halted_reason,
          },
          appliedHeight: state.last_block_height,
          streak: state.recovery_streak,
          streakHeight: state.recovery_streak_height,
        },
        cause,
      );
      if (decision.action === 'none') return decision;
      if (decision.action === 'follow_again') {
        await client.query(
          `UPDATE sync_state SET sync_generation = $1, applied_step = 0, recovery_streak = $2, recovery_streak_height = $3, updated_at = now()
            WHERE id = 1`,
          [decision.generation.toString(), decision.streak, decision.streakHeight?.toString() ?? null],
        );
      } else {
        await client.query(
          `UPDATE sync_state SET halted_at = now(), halted_reason = $1, recovery_streak = $2, recovery_streak_height = $3, updated_at = now()
            WHERE id = 1`,
          [decision.reason, decision.streak, decision.streakHeight?.toString() ?? null],
        );
      }
      await recordRecovery(client, {
        kind: cause.kind,
        reason: cause.reason,
        messageId: cause.message?.id ?? null,
        messageBody: cause.message?.body === undefined ? null : storableText(cause.message.body),
        fence: cause.message?.fence ?? null,
        generation: cause.message?.generation ?? null,
        generationTo: decision.action === 'follow_again' ? decision.generation : null,
        appliedHeight: state.last_block_height,
        actor,
      });
      if (decision.action === 'halt') {
        await recordRecovery(client, {
          kind: 'halted',
          reason: decision.reason,
          messageId: cause.message?.id ?? null,
          messageBody: null,
          fence: null,
          generation: state.sync_generation,
          generationTo: null,
          appliedHeight: state.last_block_height,
          actor,
        });
        return { action: 'halt', reason: decision.reason };
      }
      return { action: 'follow_again', generation: decision.generation, streak: decision.streak };
    });
  }

  resume(actor: string): Promise<{ resumed: true; generation: bigint } | { resumed: false }> {
    return inTransaction(this.pool, async (client) => {
      const state = await lockPipelineState(client);
      if (state.halted_reason === null) return { resumed: false } as const;
      const generation = state.sync_generation + 1n;
      await client.query(
        `UPDATE sync_state SET halted_at = NULL, halted_reason = NULL, sync_generation = $1, applied_step = 0,
                               recovery_streak = 0, recovery_streak_height = NULL, updated_at = now()
          WHERE id = 1`,
        [generation.toString()],
      );
      await recordRecovery(client, {
        kind: 'resumed',
        reason: `resumed after: ${state.halted_reason}`,
        messageId: null,
        messageBody: null,
        fence: null,
        generation: state.sync_generation,
        generationTo: generation,
        appliedHeight: state.last_block_height,
        actor,
      });
      return { resumed: true, generation } as const;
    });
  }
}

async function lockPipelineState(client: pg.PoolClient): Promise<PipelineStateRow> {
  const { rows } = await client.query<PipelineStateRow>(
    `SELECT sync_generation, fence_token, applied_step, halted_reason, last_block_height, recovery_streak, recovery_streak_height
       FROM sync_state WHERE id = 1 FOR UPDATE`,
  );
  if (!rows[0]) throw new Error('sync_state has no row: the database is not migrated');
  return rows[0];
}

interface RecoveryRecord {
  kind: 'divergence' | 'poison' | 'halted' | 'resumed';
  reason: string;
  messageId: string | null;
  messageBody: string | null;
  fence: bigint | null;
  generation: bigint | null;
  generationTo: bigint | null;
  appliedHeight: bigint | null;
  actor: string;
}

async function recordRecovery(client: pg.PoolClient, record: RecoveryRecord): Promise<void> {
  await client.query(
    `INSERT INTO pipeline_recoveries (kind, reason, message_id, message_body, fence_token, generation, generation_to, applied_height, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      record.kind,
      record.reason,
      record.messageId,
      record.messageBody,
      record.fence?.toString() ?? null,
      record.generation?.toString() ?? null,
      record.generationTo?.toString() ?? null,
      record.appliedHeight?.toString() ?? null,
      record.actor,
    ],
  );
}

/** PostgreSQL text cannot hold NUL: a poison body may, and setting it aside must not fail because of it. */
function storableText(text: string): string {
  return text.replaceAll('\u0000', '\\u0000');
}
