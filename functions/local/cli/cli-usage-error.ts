/** A command line the CLI cannot read: exit code 2, with the usage. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}
