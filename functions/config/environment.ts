/**
 * The one place that reads the process environment. Everything else is handed its settings by a settings group
 * (functions/config/*-settings.ts), parsed once, with every problem reported together.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function processEnvironment(): Environment {
  return process.env;
}
