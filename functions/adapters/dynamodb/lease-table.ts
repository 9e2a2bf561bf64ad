/**
 * The lease record in DynamoDB: one item per chain, read consistently and written only with conditions, so that
 * of two contenders writing on the strength of the same read, exactly one succeeds.
 *
 * Item (partition key `leaseName`, e.g. `follower#mainnet`):
 *
 * | attribute        | type | meaning                                                                    |
 * | ---------------- | ---- | -------------------------------------------------------------------------- |
 * | leaseName        | S    | which lease                                                                |
 * | holder           | S    | the holder's id (task id + random suffix)                                  |
 * | fencingToken     | N    | +1 on every acquisition, never lowered                                     |
 * | recordVersion    | S    | random, new on every write: the standby's proof of life of the holder      |
 * | leaseDurationMs  | N    | how long a standby must see one version before it may take over            |
 * | released         | BOOL | given up on purpose: may be taken at once                                  |
 * | acquiredAt, renewedAt, releasedAt | S | the writer's wall clock, for operators only: the protocol never reads them |
 *
 * A released lease is marked, never deleted: the fencing token must survive it, since the database downstream
 * refuses tokens lower than the highest it has seen. Deleting the item by hand restarts the tokens at 1 and
 * stops all processing until the sync generation is bumped (see the README's failover section).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { LeaseRecord } from '../../domain/lease.js';

export interface LeaseTableOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** The item's key, e.g. `follower#mainnet` (see leaseNameFor). */
  leaseName: string;
  /** Longest wait for one DynamoDB request (the SDK's own retries included). */
  requestTimeoutMs: number;
}

/** A term as its holder knows it: what its next conditional write must find in the record. */
export interface HeldLease {
  holder: string;
  fencingToken: bigint;
  recordVersion: string;
}

export interface LeaseGrant extends HeldLease {
  leaseDurationMs: number;
}

/** `conflict`: the condition failed, someone else wrote the record since it was read. */
export type WriteOutcome = 'written' | 'conflict';

export class LeaseRequestTimeoutError extends Error {
  override readonly name = 'LeaseRequestTimeoutError';
}

export class LeaseRecordFormatError extends Error {
  override readonly name = 'LeaseRecordFormatError';
}

export function leaseNameFor(network: string): string {
  return `follower#${network}`;
}

export class LeaseTable {
  constructor(private readonly options: LeaseTableOptions) {}

  get leaseName(): string {
    return this.options.leaseName;
  }

  /**
   * The record as DynamoDB holds it now (strongly consistent), or null when there is none. `timeoutMs` can only
   * shorten the configured request timeout (a leader near its deadline), never lengthen it.
   */
  async read(timeoutMs = this.options.requestTimeoutMs): Promise<LeaseRecord | null> {
    const { Item } = await this.within(timeoutMs, (abortSignal) =>
      this.options.client.send(new GetItemCommand({ TableName: this.options.tableName, Key: this.key(), ConsistentRead: true }), {
        abortSignal,
      }),
    );
    return Item ? toLeaseRecord(Item) : null;
  }

  /** The very first term of this lease: only when no record exists. */
  create(grant: LeaseGrant, wallTime: Date): Promise<WriteOutcome> {
    return this.put(grant, wallTime, 'attribute_not_exists(leaseName)', {});
  }

  /** A new term over a record that still has the version the caller saw. */
  take(expectedVersion: string, grant: LeaseGrant, wallTime: Date): Promise<WriteOutcome> {
    return this.put(grant, wallTime, 'recordVersion = :expected', { ':expected': { S: expectedVersion } });
  }

  /** Proves the holder alive: a new version, on condition that the term is still the caller's. `timeoutMs` as for read. */
  renew(
    held: HeldLease,
    nextVersion: string,
    leaseDurationMs: number,
    wallTime: Date,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<WriteOutcome> {
    return this.updateHeld(
      held,
      'SET recordVersion = :next, leaseDurationMs = :duration, renewedAt = :now',
      { ':next': { S: nextVersion }, ':duration': { N: String(leaseDurationMs) }, ':now': { S: wallTime.toISOString() } },
      timeoutMs,
    );
  }

  /** Gives the lease up so that a standby may take it at once; the token stays for the next term to raise. */
  release(held: HeldLease, nextVersion: string, wallTime: Date): Promise<WriteOutcome> {
    return this.updateHeld(
      held,
      'SET released = :true, recordVersion = :next, releasedAt = :now',
      { ':true': { BOOL: true }, ':next': { S: nextVersion }, ':now': { S: wallTime.toISOString() } },
      this.options.requestTimeoutMs,
    );
  }

  private put(grant: LeaseGrant, wallTime: Date, condition: string, values: Record<string, AttributeValue>): Promise<WriteOutcome> {
    const now = wallTime.toISOString();
    const item: Record<string, AttributeValue> = {
      ...this.key(),
      holder: { S: grant.holder },
      fencingToken: { N: grant.fencingToken.toString() },
      recordVersion: { S: grant.recordVersion },
      leaseDurationMs: { N: String(grant.leaseDurationMs) },
      released: { BOOL: false },
      acquiredAt: { S: now },
      renewedAt: { S: now },
    };
    return this.conditionally(
      (abortSignal) =>
        this.options.client.send(
          new PutItemCommand({
            TableName: this.options.tableName,
            Item: item,
            ConditionExpression: condition,
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          }),
          { abortSignal },
        ),
      this.options.requestTimeoutMs,
    );
  }

  private updateHeld(held: HeldLease, update: string, values: Record<string, AttributeValue>, timeoutMs: number): Promise<WriteOutcome> {
    return this.conditionally(
      (abortSignal) =>
        this.options.client.send(
          new UpdateItemCommand({
            TableName: this.options.tableName,
            Key: this.key(),
            UpdateExpression: update,
            ConditionExpression: 'recordVersion = :current AND holder = :holder AND fencingToken = :token AND released = :false',
            ExpressionAttributeValues: {
              ...values,
              ':current': { S: held.recordVersion },
              ':holder': { S: held.holder },
              ':token': { N: held.fencingToken.toString() },
              ':false': { BOOL: false },
            },
          }),
          { abortSignal },
        ),
      timeoutMs,
    );
  }

  private async conditionally(write: (signal: AbortSignal) => Promise<unknown>, timeoutMs: number): Promise<WriteOutcome> {
    try {
      await this.within(timeoutMs, write);
      return 'written';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'conflict';
      throw error;
    }
  }

  /**
   * Bounds a request: the SDK is asked to abort, and the caller stops waiting either way (a request stuck below
   * the SDK's abort handling must not hold a leader past its deadline). Its outcome is then unknown.
   */
  private async within<T>(requestedTimeoutMs: number, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeoutMs = Math.min(requestedTimeoutMs, this.options.requestTimeoutMs);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          const error = new LeaseRequestTimeoutError(`DynamoDB did not answer within ${timeoutMs} ms`);
          controller.abort(error);
          reject(error);
        },
        Math.max(0, timeoutMs),
      );
    });
    try {
      return await Promise.race([request(controller.signal), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private key(): Record<string, AttributeValue> {
    return { leaseName: { S: this.options.leaseName } };
  }
}

function toLeaseRecord(item: Record<string, AttributeValue>): LeaseRecord {
  const text = (name: string): string => {
    const value = item[name]?.S;
    if (value === undefined || value === '') throw new LeaseRecordFormatError(`lease item has no string attribute ${name}`);
    return value;
  };
  const integer = (name: string): string => {
    const value = item[name]?.N;
    if (value === undefined || !/^\d+$/.test(value)) throw new LeaseRecordFormatError(`lease item attribute ${name} is not a whole number`);
    return value;
  };
  return {
    holder: text('holder'),
    fencingToken: BigInt(integer('fencingToken')),
    recordVersion: text('recordVersion'),
    leaseDurationMs: Number(integer('leaseDurationMs')),
    released: item.released?.BOOL === true,
  };
}

/**
 * Creates the lease table (on-demand capacity) and waits until it is active; an existing table is left as it is.
 * For tests and local runs: in AWS the CDK stack owns the table.
 */
export async function createLeaseTable(client: Pick<DynamoDBClient, 'send'>, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'leaseName', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseName', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${tableName} did not become active`);
}
