/** A request about webhooks that cannot be accepted; the API answers 422 naming `field`. */
export class WebhookValidationError extends Error {
  override readonly name = 'WebhookValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The event or endpoint named does not exist (or was deleted); the API answers 404. */
export class WebhookNotFoundError extends Error {
  override readonly name = 'WebhookNotFoundError';
}
