/** Log events and metrics of the Ogmios adapters: the names operators search for and alarm on. */

export const OgmiosLogEvent = {
  connected: 'ogmios_connected',
  disconnected: 'ogmios_disconnected',
  messageInvalid: 'ogmios_message_invalid',
  intersectionFound: 'intersection_found',
  intersectionNotFound: 'intersection_not_found',
  /** Following ended for good: no intersection on any relay, or the consumer failed. */
  chainSyncFailed: 'chain_sync_failed',
  chainSyncStopped: 'chain_sync_stopped',
} as const;

export const OgmiosMetric = {
  /** 1 while a chain-sync connection is open, 0 otherwise. */
  connected: 'ogmios_connected',
  reconnects: 'ogmios_reconnects',
  /** Height of the node's tip, as reported with each chain-sync answer. */
  tipHeight: 'chain_tip_height',
  eventsDelivered: 'chain_events_delivered',
} as const;
