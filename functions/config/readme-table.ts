/** The README's configuration table, rendered from the declarations (test/unit/configuration.test.ts compares). */
import { LAMBDAS, type VariableDeclaration } from './variable.js';
import { VARIABLES } from './variables.js';

export function renderConfigurationTable(variables: readonly VariableDeclaration[] = VARIABLES): string {
  const rows = variables.map(
    (variable) => `| \`${variable.name}\` | ${readers(variable)} | ${variable.description} | ${variable.shownDefault} |`,
  );
  return ['| variable | read by | meaning | default |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** "Lambdas" stands for all eight when every one reads it. */
function readers({ readBy }: VariableDeclaration): string {
  const everyLambda = LAMBDAS.every((lambda) => readBy.includes(lambda));
  const named = everyLambda ? ['Lambdas', ...readBy.filter((reader) => !LAMBDAS.includes(reader))] : [...readBy];
  return named.join(', ');
}
