/**
 * local-aws-sqs with receives that return as SQS's do, for what times the queue or depends on its pace.
 *
 * As shipped, local-aws-sqs answers a ReceiveMessage only once MaxNumberOfMessages messages are there, or else
 * after WaitTimeSeconds plus 40 ms, looking every 10 ms: a consumer asking for 10 waits at least 40 ms whenever
 * fewer are queued, and a full second with WaitTimeSeconds 1. SQS returns as soon as any message is available
 * (long polling), and the Lambda event source does not wait for a full batch on a FIFO queue. A detection
 * latency or a catch-up rate measured through the shipped receive would mostly measure that wait.
 *
 * So this loads local-aws-sqs's own code with one change to its receive loop: it looks every millisecond and
 * returns as soon as it holds a message. Everything else (validation, FIFO deduplication, attributes, MD5s,
 * visibility) is local-aws-sqs's. `startLocalSqs({ receive: 'prompt' })` (local-aws.ts) serves it; the tests keep the
 * shipped one, bench:pipeline and the chaos harness take this one (BENCH_SQS_RECEIVE=as-shipped shows the difference).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';

export type CreateRequestHandler = (options: { port: number; hostname: string; emulateQueueCreationLifecycle: boolean }) => {
  requestHandler: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
};

/** The receive loop's end: `…if(r.length==e){…break}}},10),c.unref(),yield a…` in local-aws-sqs 2.x's bundle. */
const SHIPPED_RECEIVE_LOOP_END = '},10),c.unref(),yield a';
const PROMPT_RECEIVE_LOOP_END = 'if(r.length>0){clearInterval(c),clearTimeout(n),o()}},1),c.unref(),yield a';

export function loadPromptLocalAwsSqs(): CreateRequestHandler {
  const require = createRequire(import.meta.url);
  const file = require.resolve('local-aws-sqs');
  const source = readFileSync(file, 'utf8');
  const occurrences = source.split(SHIPPED_RECEIVE_LOOP_END).length - 1;
  if (occurrences !== 1) {
    throw new Error(
      `local-aws-sqs's receive loop is not where test/support/prompt-local-aws-sqs.ts expects it (${occurrences} matches in ${file}): update the patch`,
    );
  }
  const module = { exports: {} as { createRequestHandler?: CreateRequestHandler } };
  const load = compileFunction(
    source.replace(SHIPPED_RECEIVE_LOOP_END, PROMPT_RECEIVE_LOOP_END),
    ['exports', 'require', 'module', '__filename', '__dirname'],
    { filename: file },
  );
  load(module.exports, createRequire(file), module, file, dirname(file));
  if (typeof module.exports.createRequestHandler !== 'function') throw new Error(`${file} exports no createRequestHandler`);
  return module.exports.createRequestHandler;
}
