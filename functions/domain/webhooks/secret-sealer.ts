/** Seals signing secrets for storage (the database never holds them in clear) and opens them for signing. */
export interface SecretSealer {
  seal(secret: string): Promise<string>;
  unseal(sealed: string): Promise<string>;
}
