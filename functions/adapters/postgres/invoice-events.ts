/** Invoice events in the outbox (`business_events`, resource_type 'invoice'), written in the writer's transaction. */
import type { InvoiceEvent } from '../../domain/invoices/invoice-judging.js';
import type { Queryable } from './business-events.js';

/**
 * Writes the events in one statement, in array order. Each invoice's versions continue its count (its highest
 * version plus the event's place among that invoice's events here), so two events of one invoice in one statement get
 * consecutive versions. The business_events trigger takes the outbox's advisory lock, so seq follows commit order.
 * The statement's snapshot is older than that lock, so two writers of one invoice's events could number the same
 * version (the unique key would refuse the second): there is one writer per invoice at a time: its creator writes
 * `invoice.created` before anyone can see the invoice, then only the engine, one step at a time.
 */
export async function insertInvoiceEvents(db: Queryable, events: readonly InvoiceEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query({ name: 'insert_invoice_events', text: invoiceEventsInsert(1), values: [invoiceEventsJson(events)] });
}

/**
 * The INSERT of insertInvoiceEvents with its events at $`param` (invoiceEventsJson's array), so that a writer can put
 * it in a statement of its own (the engine saves judgements and their events in one).
 */
export function invoiceEventsInsert(param: number): string {
  return `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
     SELECT business_event_id(v.type, v.invoice_id, v.version), v.type, 'invoice', v.invoice_id, v.version, v.data
       FROM (SELECT n.*,
                    coalesce((SELECT max(e.version) FROM business_events e
                               WHERE e.resource_type = 'invoice' AND e.resource_id = n.invoice_id), 0)
                    + row_number() OVER (PARTITION BY n.invoice_id ORDER BY n.place)::int AS version
               FROM ROWS FROM (jsonb_to_recordset($${param}::jsonb) AS (invoice_id text, type text, data jsonb))
                    WITH ORDINALITY AS n(invoice_id, type, data, place)) v
      ORDER BY v.place`;
}

/**
 * The events as one JSON array (invoice_id, type, data): one parameter the statement reads with jsonb_to_recordset,
 * rather than three arrays, whose array literal escapes every quote of every event's data on the way in and out.
 */
export function invoiceEventsJson(events: readonly InvoiceEvent[]): string {
  return JSON.stringify(events.map((event) => ({ invoice_id: event.invoiceId, type: event.type, data: event.data })));
}
