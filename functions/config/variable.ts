/**
 * What one environment variable is: its name, what it means, its default as the README shows it, which processes
 * read it, and how its text becomes a value. The declarations are in variables.ts; the README's table is
 * rendered from them (readme-table.ts).
 */
import type { Environment } from './environment.js';

/** The processes that read settings; the README's table says which reads what. */
export type SettingsReaderName =
  | 'follower'
  | 'health check'
  | 'processor'
  | 'health'
  | 'reconciliation'
  | 'hot wallet'
  | 'rebuild'
  | 'backup export'
  | 'partition maintenance'
  | 'migrate'
  | 'event publisher'
  | 'webhook deliverer'
  | 'webhook scheduler'
  | 'api'
  | 'api authorizer'
  | 'payout processor'
  | 'local stack'
  | 'CLI'
  | 'simulator';

/** Every Lambda: the rows of the README's table say "Lambdas" rather than naming all eight. */
export const LAMBDAS: readonly SettingsReaderName[] = [
  'processor',
  'health',
  'reconciliation',
  'hot wallet',
  'rebuild',
  'backup export',
  'partition maintenance',
  'migrate',
  'event publisher',
  'webhook deliverer',
  'webhook scheduler',
  'api',
  'api authorizer',
  'payout processor',
];

export interface VariableDeclaration {
  readonly name: string;
  readonly description: string;
  /** The default as the README shows it ("none", "required", "a free port", …). */
  readonly shownDefault: string;
  readonly readBy: readonly SettingsReaderName[];
}

export interface Variable<T> extends VariableDeclaration {
  /** The value, or the default when unset or blank; throws a message naming the variable when the text is wrong. */
  read(env: Environment): T;
}

/** The trimmed text, undefined when unset or blank. */
export function textOf(env: Environment, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === '' ? undefined : text;
}

export function optionalText(declaration: VariableDeclaration): Variable<string | undefined> {
  return { ...declaration, read: (env) => textOf(env, declaration.name) };
}

/** As given, spaces included (a password may hold any character). */
export function untrimmedText(declaration: VariableDeclaration): Variable<string | undefined> {
  return { ...declaration, read: (env) => env[declaration.name] };
}

export function textWithDefault(declaration: VariableDeclaration, fallback: string): Variable<string> {
  return { ...declaration, read: (env) => textOf(env, declaration.name) ?? fallback };
}

/** A whole number within bounds; `rule` completes "NAME must be …" in the error. */
export function wholeNumber<F extends number | undefined>(
  declaration: VariableDeclaration,
  fallback: F,
  bounds: { min: number; max?: number; rule: string },
): Variable<number | F> {
  return {
    ...declaration,
    read(env) {
      const text = textOf(env, declaration.name);
      if (text === undefined) return fallback;
      const value = Number(text);
      if (!Number.isSafeInteger(value) || value < bounds.min || value > (bounds.max ?? Number.MAX_SAFE_INTEGER)) {
        throw new Error(`${declaration.name} must be ${bounds.rule}; got "${text}"`);
      }
      return value;
    },
  };
}

export function positiveInteger(declaration: VariableDeclaration, fallback: number): Variable<number> {
  return wholeNumber(declaration, fallback, { min: 1, rule: 'a whole number ≥ 1' });
}

export function milliseconds(declaration: VariableDeclaration, fallback: number, max = Number.MAX_SAFE_INTEGER): Variable<number> {
  return wholeNumber(declaration, fallback, { min: 1, max, rule: `a whole number of milliseconds between 1 and ${max}` });
}

export function portNumber<F extends number | undefined>(declaration: VariableDeclaration, fallback: F): Variable<number | F> {
  return wholeNumber(declaration, fallback, { min: 0, max: 65_535, rule: 'a port number' });
}

/** A value parsed by a domain or adapter function whose errors already say what is wrong. */
export function parsed<T>(declaration: VariableDeclaration, parse: (text: string | undefined) => T): Variable<T> {
  return { ...declaration, read: (env) => parse(textOf(env, declaration.name)) };
}
