/** What an invoice takes when its request says nothing reaches the API: CONFIRMATIONS and INVOICE_MONITORING_MINUTES. */
import { describe, expect, it } from 'vitest';
import { readApiSettings } from '../../functions/config/lambda-settings.js';
import { readLocalStackSettings } from '../../functions/config/local-settings.js';

describe('invoice settings', () => {
  it("give the API Lambda the monitor's CONFIRMATIONS and the monitoring window, with their defaults", () => {
    expect(readApiSettings({ NETWORK: 'preprod' }).invoices).toEqual({ defaultConfirmations: 15, monitoringMinutes: 1440 });
    expect(readApiSettings({ NETWORK: 'preprod', CONFIRMATIONS: '9', INVOICE_MONITORING_MINUTES: '0' }).invoices).toEqual({
      defaultConfirmations: 9,
      monitoringMinutes: 0,
    });
    expect(readLocalStackSettings({ INVOICE_MONITORING_MINUTES: '90' }).invoiceMonitoringMinutes).toBe(90);
  });

  it('refuse a monitoring window that is not a whole number of minutes up to 30 days, naming the variable', () => {
    for (const text of ['-1', '1.5', 'a day', '43201']) {
      expect(() => readApiSettings({ NETWORK: 'preprod', INVOICE_MONITORING_MINUTES: text })).toThrow(/INVOICE_MONITORING_MINUTES/);
    }
  });
});
