/**
 * The import graph of the repository's TypeScript, read from the source text, for the architecture test: which
 * file imports which (relative imports resolved to files, packages by name), cycles, and what a file loads at
 * run time (type-only imports are erased, so they load nothing).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ImportEdge {
  /** A repository file (`functions/domain/chain.ts`) or a package specifier (`ws`, `node:fs`). */
  readonly target: string;
  readonly isPackage: boolean;
  /** `import type …` / `export type … from`: erased by the compiler, never loaded. */
  readonly typeOnly: boolean;
}

// A static import or re-export (its clause holds no quote or semicolon), a side-effect import, a dynamic import.
const IMPORT =
  /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function sourceFiles(folder: string): string[] {
  const absolute = path.join(ROOT, folder);
  return readdirSync(absolute).flatMap((entry) => {
    const full = path.join(absolute, entry);
    if (statSync(full).isDirectory()) return sourceFiles(path.join(folder, entry));
    return entry.endsWith('.ts') ? [path.join(folder, entry)] : [];
  });
}

export function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => {
    const specifier = match[3] ?? match[4] ?? match[5]!;
    const target = specifier.startsWith('.') ? path.normalize(path.join(path.dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier;
    return { target, isPackage: !specifier.startsWith('.'), typeOnly: match[2] !== undefined };
  });
}

export type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

export function importGraph(folders: readonly string[]): ImportGraph {
  return new Map(folders.flatMap(sourceFiles).map((file) => [file, importsOf(file)]));
}

/** Every cycle among the graph's files, each as its files in import order (Tarjan's strongly connected components). */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    lowLink.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const { target } of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(target)!));
      } else if (onStack.has(target)) {
        lowLink.set(file, Math.min(lowLink.get(file)!, index.get(target)!));
      }
    }
    if (lowLink.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    const importsItself = (graph.get(file) ?? []).some(({ target }) => target === file);
    if (component.length > 1 || importsItself) cycles.push(component.reverse());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/** The packages loaded at run time by loading `start`, with the chain of files that reaches each. */
export function packagesLoadedBy(graph: ImportGraph, start: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const via = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const { target, isPackage, typeOnly } of graph.get(file) ?? []) {
      if (typeOnly) continue;
      const chain = [...via.get(file)!, target];
      if (isPackage) {
        if (!packages.has(target)) packages.set(target, chain);
        continue;
      }
      if (via.has(target) || !graph.has(target)) continue;
      via.set(target, chain);
      queue.push(target);
    }
  }
  return packages;
}
