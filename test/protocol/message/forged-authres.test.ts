import { describe, expect, it } from 'vitest';
import { authservIdOf, stripForgedAuthResults } from '../../../src/message/forged-authres.js';

describe('forged Authentication-Results', () => {
  it('finds the authserv-id behind comments and versions', () => {
    expect(authservIdOf(' mx.example.test; spf=pass')).toBe('mx.example.test');
    expect(authservIdOf(' (forged) MX.Example.Test 1; dmarc=pass')).toBe('mx.example.test');
    expect(authservIdOf(' mx.google.com;\r\n dkim=pass')).toBe('mx.google.com');
  });

  it('removes only the fields that claim our authserv-id, keeping every other byte', () => {
    const msg = Buffer.from(
      'Authentication-Results: mx.example.test;\r\n dmarc=pass header.from=bank.example\r\n' +
        'Authentication-Results: mx.other.example; spf=fail\r\n' +
        'From: a@bank.example\r\nauthentication-results: (x) MX.EXAMPLE.TEST; dkim=pass\r\n\r\nbody\r\n',
    );
    expect(stripForgedAuthResults(msg, 'mx.example.test').toString()).toBe(
      'Authentication-Results: mx.other.example; spf=fail\r\nFrom: a@bank.example\r\n\r\nbody\r\n',
    );
  });

  it('returns the message untouched when there is nothing to remove', () => {
    const msg = Buffer.from('From: a@b.example\r\n\r\nAuthentication-Results: mx.example.test; in the body\r\n');
    expect(stripForgedAuthResults(msg, 'mx.example.test')).toBe(msg);
  });
});
