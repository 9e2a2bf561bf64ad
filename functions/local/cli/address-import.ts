import { InvalidRegistrationError, validateRegistrations, type AddressRegistration } from '../../domain/address-registration.js';
import type { Network } from '../../domain/network.js';
import { parseCsv } from './csv.js';

const HEADER = ['address', 'reference_type', 'reference_id', 'user_id'];
/** A bad value is named by its column. */
const COLUMNS = { referenceType: 'reference_type', referenceId: 'reference_id', userId: 'user_id' };

export class AddressImportError extends Error {
  override readonly name = 'AddressImportError';
  constructor(readonly problems: string[]) {
    super(`The file was not imported; ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * Reads `address,reference_type,reference_id,user_id` rows. Every bad row is reported with its line number
 * and nothing is returned unless all rows are good: an import is all or nothing.
 */
export function readAddressCsv(text: string, network: Network): AddressRegistration[] {
  const [header, ...rows] = parseCsv(text);
  if (!header || header.fields.map((f) => f.trim().toLowerCase()).join(',') !== HEADER.join(',')) {
    throw new AddressImportError([`line 1: the header must be ${HEADER.join(',')}`]);
  }
  const problems: string[] = [];
  const registrations: AddressRegistration[] = [];
  const lineOf = new Map<string, number>();
  for (const { line, fields } of rows) {
    if (fields.length !== HEADER.length) {
      problems.push(`line ${line}: expected ${HEADER.length} fields, found ${fields.length}`);
      continue;
    }
    const [address, referenceType, referenceId, userId] = fields.map((f) => f.trim()) as [string, string, string, string];
    const registration = { address, referenceType, referenceId, userId: userId === '' ? null : userId };
    try {
      const [valid] = validateRegistrations([registration], network, COLUMNS);
      const earlier = lineOf.get(valid!.address);
      if (earlier !== undefined) {
        problems.push(`line ${line}: address ${address} already appears on line ${earlier}`);
        continue;
      }
      lineOf.set(valid!.address, line);
      registrations.push(valid!);
    } catch (error) {
      if (!(error instanceof InvalidRegistrationError)) throw error;
      problems.push(`line ${line}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new AddressImportError(problems);
  return registrations;
}
