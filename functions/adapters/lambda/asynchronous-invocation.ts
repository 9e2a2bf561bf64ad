/**
 * An asynchronous invocation (InvocationType Event) of a Lambda with a small JSON payload: a long job asking
 * itself to carry on before Lambda's 15 minutes run out, or the follower starting a reconciliation.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

export function asynchronousInvocation(lambda: Pick<LambdaClient, 'send'>, functionName: string) {
  return async (payload: Record<string, string>): Promise<void> => {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    // An accepted asynchronous invocation answers 202; anything else means nobody will carry on.
    if (response.StatusCode !== 202) throw new Error(`asynchronous invocation of ${functionName} answered ${String(response.StatusCode)}`);
  };
}
