/**
 * Local implementations of the AWS APIs the emitter and the processor use, in-process and without Docker:
 * local-aws-sqs (SQS, JSON protocol, FIFO with deduplication) and s3rver (S3). Each test file starts its own on
 * a free port and stops it afterwards. Also what the Lambda runtime hands a handler (events, context) and a way
 * to read what a handler printed (Powertools' JSON logs and EMF metrics).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { createRequestHandler } from 'local-aws-sqs';
import { loadPromptLocalAwsSqs } from './prompt-local-aws-sqs.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalSqs {
  endpoint: string;
  client: SQSClient;
  /** Another client of the same server (a test may add middleware to it without affecting the others). */
  createClient(): SQSClient;
  /** A FIFO queue (the name gets `.fifo` appended), with explicit deduplication ids as in production. */
  createFifoQueue(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * `receive: 'prompt'`: receives return as soon as a message is there, as SQS's do (prompt-local-aws-sqs.ts says why
 * the shipped ones wait); for what times the queue or depends on its pace.
 */
export async function startLocalSqs({ receive = 'as-shipped' }: { receive?: 'as-shipped' | 'prompt' } = {}): Promise<LocalSqs> {
  // The queue URLs local-aws-sqs hands out name its port, so the port is chosen (bound) before the handler exists.
  const server = createServer();
  const port = await listen(server);
  const create = receive === 'prompt' ? loadPromptLocalAwsSqs() : createRequestHandler;
  const { requestHandler } = create({ port, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  server.on('request', (request, response) => void requestHandler(request, response));
  const endpoint = `http://127.0.0.1:${port}`;
  const createClient = () => new SQSClient({ region: REGION, endpoint, credentials: CREDENTIALS });
  const client = createClient();
  return {
    endpoint,
    client,
    createClient,
    async createFifoQueue(name) {
      const { QueueUrl } = await client.send(
        new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
      );
      return QueueUrl!;
    },
    async close() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Receives until the queue is empty, deleting as it goes (as the Lambda event source does after a successful
 * batch), and returns the messages in the order SQS delivered them.
 */
export async function drainQueue(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const received: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages);
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
}

/** Received messages as the Lambda event source mapping hands them to the processor. */
export function toSqsEvent(messages: readonly Message[], queueArn = 'arn:aws:sqs:us-east-1:123456789012:chain-events.fifo'): SQSEvent {
  return { Records: messages.map((message) => toSqsRecord(message, queueArn)) };
}

function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { dataType: value.DataType!, stringValue: value.StringValue },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

export interface LocalS3 {
  endpoint: string;
  client: S3Client;
  /** Every request s3rver received, in arrival order, named as the S3 API operation it is. */
  requests: RecordedS3Request[];
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface RecordedS3Request {
  operation: string;
  key: string;
}

/** s3rver ships no type declarations: this is the part of its API used here (it is a Koa application). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  middleware: ((context: KoaRequestContext, next: () => Promise<void>) => Promise<void>)[];
}
interface KoaRequestContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  resetOnClose: boolean;
}) => S3rverInstance;

export async function startLocalS3(): Promise<LocalS3> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
  const requests: RecordedS3Request[] = [];
  // First in the chain, so that every request is seen, whatever s3rver then answers.
  s3rver.middleware.unshift((context, next) => {
    requests.push({ operation: s3Operation(context), key: context.path.split('/').slice(2).join('/') });
    return next();
  });
  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver checks signatures against its own fixed credentials.
  const client = new S3Client({
    region: REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    client,
    requests,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async close() {
      client.destroy();
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The S3 API operation a request is (path-style addressing), as far as the tests need names. */
function s3Operation({ method, path: requestPath, query }: KoaRequestContext): string {
  const onObject = requestPath.split('/').filter(Boolean).length > 1;
  if (onObject && 'uploadId' in query) {
    return (
      { PUT: 'UploadPart', POST: 'CompleteMultipartUpload', DELETE: 'AbortMultipartUpload', GET: 'ListParts' }[method] ??
      `${method} ?uploadId`
    );
  }
  if (onObject && method === 'POST' && 'uploads' in query) return 'CreateMultipartUpload';
  if (onObject) return { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[method] ?? method;
  return `${method} bucket`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

// ————— the Lambda runtime, as a handler sees it —————

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `request-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A request through an IAM-authenticated function URL. */
export function functionUrlRequest(method: string, rawPath: string): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { host: 'abc.lambda-url.us-east-1.on.aws' },
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

/**
 * Runs work while collecting every line written to stdout and stderr (Powertools writes its JSON logs there,
 * warnings and errors to stderr, and its EMF metrics to stdout), then returns the lines that are JSON objects.
 */
export async function captureOutput<T>(work: () => Promise<T>): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  // Swallowed, not echoed: the test reads the lines instead of the reporter printing them.
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      rest.find((argument): argument is () => void => typeof argument === 'function')?.();
      return true;
    }) as typeof stream.write;
  }
  try {
    const result = await work();
    return { result, lines: parseJsonLines(chunks.join('')) };
  } finally {
    streams.forEach((stream, i) => {
      stream.write = originals[i]!;
    });
  }
}

function parseJsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

export function emfDocuments(lines: Record<string, unknown>[]): EmfDocument[] {
  return lines.filter((line): line is EmfDocument => typeof line._aws === 'object' && line._aws !== null);
}

/** The value(s) of a metric across EMF documents, with the dimensions each was recorded under. */
export function metricValues(documents: EmfDocument[], name: string): { value: unknown; dimensions: Record<string, unknown> }[] {
  return documents.flatMap((document) => {
    const definition = document._aws.CloudWatchMetrics[0]!;
    if (!definition.Metrics.some((metric) => metric.Name === name)) return [];
    const dimensions = Object.fromEntries(definition.Dimensions.flat().map((key) => [key, document[key]]));
    return [{ value: document[name], dimensions }];
  });
}
