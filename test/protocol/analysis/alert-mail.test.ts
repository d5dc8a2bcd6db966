import { describe, expect, it } from 'vitest';
import { alertsToSend, formatAlertMail, markSent, parseSentAlerts } from '../../../src/analysis/alert-mail.js';
import type { Alert } from '../../../src/analysis/alerts.js';

const alert = (id: string): Alert => ({
  id, kind: 'new-unknown-source', domain: 'shop.example', severity: 'critical',
  message: `new unknown source ${id}`, figures: { ip: '203.0.113.9', ptr: null, messages: 40 }, action: 'Look into it.',
});
const NOON = Date.UTC(2026, 11, 4, 12);
const LATE = Date.UTC(2026, 11, 4, 23, 59);
const NEXT = Date.UTC(2026, 11, 5, 0, 1);

describe('alert mail: once per alert id per UTC day', () => {
  it('sends what was not sent today, each id once', () => {
    expect(alertsToSend([alert('a'), alert('b'), alert('a')], null, NOON).map((a) => a.id)).toEqual(['a', 'b']);
    const sent = markSent(null, ['a'], NOON);
    expect(sent).toEqual({ day: '2026-12-04', ids: ['a'] });
    expect(alertsToSend([alert('a'), alert('b')], sent, LATE).map((a) => a.id)).toEqual(['b']);
    expect(markSent(sent, ['b', 'a'], LATE)).toEqual({ day: '2026-12-04', ids: ['a', 'b'] });
  });

  it('sends again on the next UTC day', () => {
    const sent = markSent(null, ['a', 'b'], NOON);
    expect(alertsToSend([alert('a')], sent, NEXT).map((a) => a.id)).toEqual(['a']);
    expect(markSent(sent, ['a'], NEXT)).toEqual({ day: '2026-12-05', ids: ['a'] });
  });

  it('reads the setting back, and treats a damaged one as nothing sent', () => {
    expect(parseSentAlerts(JSON.stringify(markSent(null, ['a'], NOON)))).toEqual({ day: '2026-12-04', ids: ['a'] });
    expect(parseSentAlerts(null)).toBeNull();
    expect(parseSentAlerts('{not json')).toBeNull();
    expect(parseSentAlerts('{"day": 3}')).toBeNull();
  });
});

describe('formatAlertMail', () => {
  it('is a plain-text auto-generated message naming the alert', () => {
    const a = { ...alert('new-unknown-source:shop.example:203.0.113.9'), message: 'bad\r\nBcc: x@evil.example' };
    const text = formatAlertMail(a, { to: 'postmaster@shop.example', from: 'postmaster@shop.example', hostname: 'mx.shop.example', now: NOON }).toString('latin1');
    const cut = text.indexOf('\r\n\r\n');
    const head = text.slice(0, cut);
    const body = text.slice(cut + 4);
    expect(head.split('\r\n')).toEqual([
      'From: Kagami alerts <postmaster@shop.example>',
      'To: <postmaster@shop.example>',
      'Subject: [kagami] critical: bad??Bcc: x@evil.example',
      'Date: Fri, 04 Dec 2026 12:00:00 +0000',
      'Message-ID: <alert.2026-12-04.new-unknown-source_shop.example_203.0.113.9@mx.shop.example>',
      'Auto-Submitted: auto-generated',
      'Kagami-Alert: new-unknown-source:shop.example:203.0.113.9',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
    ]);
    expect(body).toContain('Figures:\r\n  ip: 203.0.113.9\r\n  ptr: -\r\n  messages: 40\r\n');
    expect(body).toContain('What to do:\r\n  Look into it.');
    expect(text.split('\r\n').every((l) => l.length < 998 && !/[\r\n]/.test(l))).toBe(true);
  });
});
