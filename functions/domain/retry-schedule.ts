/**
 * When a chain event that failed for a transient reason (database, S3, Secrets Manager, throttling) is tried
 * again. The processor hides the failed message for this long (SQS ChangeMessageVisibility) instead of letting
 * the queue's visibility timeout decide.
 *
 * The rule: try again after a tenth of the time the message has been failing, between 5 seconds and 30 minutes.
 * So the pipeline resumes within about a tenth of an outage's length once its cause clears (30 minutes at most),
 * while the receive count, which SQS compares with the DLQ's maxReceiveCount, grows only logarithmically at first
 * and then by two an hour: about 730 receives over the queue's 14-day retention, below SQS's largest
 * maxReceiveCount (1000). A valid event therefore never reaches the DLQ for a transient cause.
 */

export const MIN_RETRY_DELAY_SECONDS = 5;
export const MAX_RETRY_DELAY_SECONDS = 1800;
/** The retry comes after this share of the time the message has already been failing. */
const SHARE_OF_FAILING_TIME = 0.1;

/** Seconds to keep a failed message hidden, given how long (seconds) it has been failing. */
export function retryDelaySeconds(failingForSeconds: number): number {
  const proportional = Math.ceil(Math.max(0, failingForSeconds) * SHARE_OF_FAILING_TIME);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(MIN_RETRY_DELAY_SECONDS, proportional));
}

/** How many times a message that keeps failing is received within `seconds` of its first receive. */
export function receivesWithin(seconds: number): number {
  let receives = 1;
  let failingFor = 0;
  for (;;) {
    failingFor += retryDelaySeconds(failingFor);
    if (failingFor > seconds) return receives;
    receives++;
  }
}
