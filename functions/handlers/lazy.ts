/**
 * A value built once per Lambda instance, on first use. A failed build is not cached: the next invocation
 * tries again (a database or secret that was briefly unreachable at cold start must not poison the instance).
 */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
