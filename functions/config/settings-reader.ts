/** Reads declared variables from one environment, collecting every problem so that they are reported together. */
import type { Environment } from './environment.js';
import type { Variable } from './variable.js';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(
    readonly who: string,
    readonly problems: readonly string[],
  ) {
    // One problem reads best on its own; several are listed under whose settings they are.
    super(problems.length === 1 ? (problems[0] as string) : `the ${who}'s configuration is invalid:\n- ${problems.join('\n- ')}`);
  }
}

export class SettingsReader {
  private readonly problems: string[] = [];

  constructor(readonly env: Environment) {}

  /** The variable's value; when its text is wrong the problem is kept and `whenInvalid` stands in. */
  read<T>(variable: Variable<T>, whenInvalid?: T): T {
    try {
      return variable.read(this.env);
    } catch (error) {
      this.problem(error);
      return whenInvalid as T;
    }
  }

  /** A variable that must be set here, whatever its default elsewhere. */
  required<T>(variable: Variable<T | undefined>, what: string): T {
    if (this.env[variable.name]?.trim()) return this.read(variable) as T;
    this.problems.push(`${variable.name} is not set: give ${what}`);
    return undefined as T;
  }

  /** A value derived from several variables (or checked across them); its error becomes one problem. */
  attempt<T>(derive: () => T, whenInvalid: T): T {
    try {
      return derive();
    } catch (error) {
      this.problem(error);
      return whenInvalid;
    }
  }

  problem(error: unknown): void {
    this.problems.push(error instanceof Error ? error.message : String(error));
  }

  get failed(): boolean {
    return this.problems.length > 0;
  }

  /** Throws every problem found, naming whose settings they are. */
  finish(who: string): void {
    if (this.problems.length > 0) throw new ConfigurationError(who, this.problems);
  }
}

/** Reads one group of settings and throws every problem it found, naming whose settings they are. */
export function readSettingsGroup<T>(who: string, env: Environment, read: (reader: SettingsReader) => T): T {
  const reader = new SettingsReader(env);
  const settings = read(reader);
  reader.finish(who);
  return settings;
}
