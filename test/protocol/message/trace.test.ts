import { describe, expect, it } from 'vitest';
import { formatReceived, formatReturnPath, headerSafeHost, rfc5322Date } from '../../../src/message/trace.js';

describe('trace fields', () => {
  const base = {
    helo: 'client.example.org',
    ptr: 'mail.example.org',
    clientIp: '192.0.2.7',
    hostname: 'mx.example.test',
    protocol: 'ESMTPS',
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    queueId: '01ABCDEFGHJKMNPQRSTV',
    recipient: 'alice@example.test',
    at: Date.UTC(2026, 11, 4, 16, 0, 5),
  };

  it('formats Received per RFC 5321 4.4 with the TLS details and one recipient', () => {
    expect(formatReceived(base)).toBe(
      'Received: from client.example.org (mail.example.org [192.0.2.7])\r\n' +
        '\tby mx.example.test (Kagami) with ESMTPS id 01ABCDEFGHJKMNPQRSTV (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
        '\tfor <alice@example.test>; Fri, 04 Dec 2026 16:00:05 +0000\r\n',
    );
  });

  it('writes IPv6 clients as address literals and leaves out what it cannot trust', () => {
    const r = formatReceived({ ...base, clientIp: '2001:db8::1', ptr: 'evil\r\nX-Injected: yes', helo: 'bad helo\r\nX: y', tls: null, recipient: null, protocol: 'ESMTP' });
    expect(r).toContain('from unknown ([IPv6:2001:db8::1])');
    expect(r).not.toContain('Injected');
    expect(r.split('\r\n')).toHaveLength(4);
    expect(r).toMatch(/\t; Fri, 04 Dec 2026/);
  });

  it('Return-Path keeps the null reverse-path', () => {
    expect(formatReturnPath('')).toBe('Return-Path: <>\r\n');
    expect(formatReturnPath('a@b.example')).toBe('Return-Path: <a@b.example>\r\n');
    expect(formatReturnPath('a@b\r\nX: y')).toBe('Return-Path: <>\r\n');
  });

  it('accepts host names and address literals only', () => {
    expect(headerSafeHost('mx-1.example.org')).toBe('mx-1.example.org');
    expect(headerSafeHost('[192.0.2.1]')).toBe('[192.0.2.1]');
    expect(headerSafeHost('a b')).toBeNull();
    expect(headerSafeHost('')).toBeNull();
  });

  it('dates in RFC 5322 form', () => {
    expect(rfc5322Date(Date.UTC(2027, 0, 2, 3, 4, 5))).toBe('Sat, 02 Jan 2027 03:04:05 +0000');
  });
});
