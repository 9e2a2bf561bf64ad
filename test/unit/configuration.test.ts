/** The configuration module is the one reader of the environment, and the README's table is its declarations. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigurationTable } from '../../functions/config/readme-table.js';
import { VARIABLES } from '../../functions/config/variables.js';
import { ConfigurationError } from '../../functions/config/settings-reader.js';
import { readHealthCheckSettings } from '../../functions/config/health-check-settings.js';
import { readLocalStackSettings } from '../../functions/config/local-settings.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRINT_TABLE = `npx tsx -e "import('./functions/config/readme-table.ts').then((m) => console.log(m.renderConfigurationTable()))"`;
const TABLE_MARKER = '<!-- configuration table: rendered from functions/config/variables.ts (test/unit/configuration.test.ts) -->';

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder)).flatMap((entry) => {
    const relative = path.join(folder, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sourceFiles(relative);
    return /\.(ts|mjs)$/.test(entry) ? [relative] : [];
  });
}

describe('configuration', () => {
  it('is read from the environment in one place only', () => {
    const readers = ['functions', 'bin', 'lib']
      .flatMap(sourceFiles)
      .filter((file) => readFileSync(path.join(ROOT, file), 'utf8').includes('process.env'));
    expect(readers).toEqual([path.join('functions', 'config', 'environment.ts')]);
  });

  it('declares every variable once', () => {
    const names = VARIABLES.map((variable) => variable.name);
    expect(names.length).toBe(new Set(names).size);
  });

  it('lists every variable it declares (an unlisted one would be missing from the README and every check)', async () => {
    const exported: unknown[] = Object.values(await import('../../functions/config/variables.js'));
    const declared = exported.filter(
      (value): value is { name: string } =>
        typeof value === 'object' && value !== null && 'name' in value && 'read' in value && typeof value.read === 'function',
    );
    expect(declared.map((variable) => variable.name).sort()).toEqual(VARIABLES.map((variable) => variable.name).sort());
  });

  it("is what the README's configuration table shows", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(TABLE_MARKER);
    expect(start).toBeGreaterThan(-1);
    const table = readme
      .slice(start + TABLE_MARKER.length)
      .trimStart()
      .split('\n\n')[0];
    expect(table, `print the table with: ${PRINT_TABLE}`).toBe(renderConfigurationTable());
  });

  it('reports every problem of a group together, and one problem on its own', () => {
    expect(() => readLocalStackSettings({ CONFIRMATIONS: '0', HEALTH_PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(
      expect.objectContaining({
        problems: [
          'CONFIRMATIONS must be a whole number ≥ 1; got "0"',
          'HEALTH_PORT must be a port number; got "eighty"',
          'LOG_LEVEL must be one of debug, info, warn, error, critical; got "loud"',
        ],
      }),
    );
    expect(() => readHealthCheckSettings({ HEALTH_PORT: '70000' })).toThrow(
      new ConfigurationError('health check', ['HEALTH_PORT must be a port number; got "70000"']),
    );
    expect(readHealthCheckSettings({})).toEqual({ port: 8080 });
  });
});
