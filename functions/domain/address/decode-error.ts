/**
 * Raised by the address codecs in this folder. Its message is a short reason ("bech32 checksum does not
 * match"); `validateAddress` turns it into an `InvalidAddressError` that names the address.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}
