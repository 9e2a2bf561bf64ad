/**
 * A Lambda asking itself to carry on: an asynchronous invocation (InvocationType Event) of the same function
 * with a small JSON payload. Used by long jobs that stop before Lambda's 15 minutes run out.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

export function selfContinuation(lambda: Pick<LambdaClient, 'send'>, functionName: string) {
  return async (payload: Record<string, string>): Promise<void> => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
    );
    // An accepted asynchronous invocation answers 202; anything else means nobody will carry on.
    if (response.StatusCode !== 202) throw new Error(`asynchronous invocation of ${functionName} answered ${String(response.StatusCode)}`);
  };
}
