import { InvalidAddressError, validateAddress } from './address.js';
import type { Network } from './network.js';

/** A business asks the monitor to watch an address for payments towards a reference. */
export interface AddressRegistration {
  address: string;
  /** What the payments are for: 'invoice', 'order', 'deposit', … */
  referenceType: string;
  referenceId: string;
  /** The user whose balance confirmed payments credit; null when payments credit no balance. */
  userId?: string | null;
}

export class InvalidRegistrationError extends Error {
  override readonly name = 'InvalidRegistrationError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`Cannot register address ${JSON.stringify(address.slice(0, 120))}: ${reason}`);
  }
}

export class AddressAlreadyRegisteredError extends Error {
  override readonly name = 'AddressAlreadyRegisteredError';
  constructor(
    readonly address: string,
    readonly existing: { referenceType: string; referenceId: string; userId: string | null },
  ) {
    super(
      `Address ${address} is already registered to ${existing.referenceType} ${existing.referenceId}` +
        (existing.userId === null ? '' : ` (user ${existing.userId})`),
    );
  }
}

const MAX_REFERENCE_LENGTH = 200;

/** How the caller's input names the fields, for the messages (the CLI's flags, a CSV's columns). */
export type RegistrationFieldNames = Record<'referenceType' | 'referenceId' | 'userId', string>;

const FIELD_NAMES: RegistrationFieldNames = { referenceType: 'referenceType', referenceId: 'referenceId', userId: 'userId' };

/**
 * Checks every registration before anything is written: a valid address of the configured network, in its
 * canonical form, with a reference. The first problem throws an error naming the address.
 */
export function validateRegistrations(
  registrations: readonly AddressRegistration[],
  network: Network,
  names: RegistrationFieldNames = FIELD_NAMES,
): Required<AddressRegistration>[] {
  const seen = new Map<string, AddressRegistration>();
  return registrations.map((registration) => {
    let canonical: string;
    try {
      canonical = validateAddress(registration.address, network).address;
    } catch (error) {
      if (error instanceof InvalidAddressError) throw new InvalidRegistrationError(registration.address, error.reason);
      throw error;
    }
    for (const field of ['referenceType', 'referenceId'] as const) {
      const value = registration[field];
      if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_REFERENCE_LENGTH) {
        throw new InvalidRegistrationError(
          registration.address,
          `${names[field]} must be a non-empty string of at most ${MAX_REFERENCE_LENGTH} characters`,
        );
      }
    }
    const userId = registration.userId ?? null;
    if (userId !== null && (typeof userId !== 'string' || userId.trim() === '' || userId.length > MAX_REFERENCE_LENGTH)) {
      throw new InvalidRegistrationError(
        registration.address,
        `${names.userId} must be null or a non-empty string of at most ${MAX_REFERENCE_LENGTH} characters`,
      );
    }
    const earlier = seen.get(canonical);
    if (
      earlier &&
      (earlier.referenceType !== registration.referenceType ||
        earlier.referenceId !== registration.referenceId ||
        (earlier.userId ?? null) !== userId)
    ) {
      throw new InvalidRegistrationError(registration.address, 'it appears twice in the request with different references');
    }
    seen.set(canonical, registration);
    return { address: canonical, referenceType: registration.referenceType, referenceId: registration.referenceId, userId };
  });
}
