/** verifySpf (RFC 7208 2.3, 2.4): which identity is checked, and the separate HELO check. */
import { describe, expect, it } from 'vitest';
import { verifySpf } from '../../../src/auth/spf/verify.js';
import { zoneResolver, type ZoneData } from '../../support/dns-server.js';

const zone: ZoneData = {
  'example.com': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  'mta.example.org': { TXT: ['v=spf1 a -all'], A: ['198.51.100.25'] },
};

describe('verifySpf', () => {
  it('checks the MAIL FROM domain, and the HELO name beside it', async () => {
    const resolver = zoneResolver(zone);
    const v = await verifySpf({ ip: '198.51.100.25', mailFrom: '<bounce+x=y@example.com>', helo: 'mta.example.org' }, resolver);
    expect(v).toMatchObject({ identity: 'mailfrom', sender: 'bounce+x=y@example.com', domain: 'example.com', result: 'fail' });
    expect(v.heloResult).toMatchObject({ domain: 'mta.example.org', result: 'pass' });
  });
  it('uses postmaster@HELO for the null reverse-path, once (RFC 7208 2.4)', async () => {
    const resolver = zoneResolver(zone);
    const v = await verifySpf({ ip: '198.51.100.25', mailFrom: '<>', helo: 'mta.example.org' }, resolver);
    expect(v).toMatchObject({ identity: 'helo', sender: 'postmaster@mta.example.org', domain: 'mta.example.org', result: 'pass' });
    expect(v.heloResult).toBeUndefined();
    expect(resolver.calls.filter((c) => c.type === 'TXT')).toHaveLength(1);
  });
  it('gives none when the null path comes with a HELO that is not a domain (RFC 7208 4.3)', async () => {
    for (const helo of ['[192.0.2.1]', 'OEMCOMPUTER', '']) {
      const v = await verifySpf({ ip: '192.0.2.1', mailFrom: '', helo }, zoneResolver(zone));
      expect(v).toMatchObject({ identity: 'helo', result: 'none' });
    }
  });
  it('skips the HELO check for an address literal or when switched off', async () => {
    const literal = await verifySpf({ ip: '192.0.2.1', mailFrom: 'a@example.com', helo: '[192.0.2.1]' }, zoneResolver(zone));
    expect(literal.heloResult).toBeUndefined();
    const off = await verifySpf({ ip: '192.0.2.1', mailFrom: 'a@example.com', helo: 'mta.example.org' }, zoneResolver(zone), { checkHelo: false });
    expect(off).toMatchObject({ result: 'pass', identity: 'mailfrom' });
    expect(off.heloResult).toBeUndefined();
  });
  it('substitutes postmaster for an empty local-part (RFC 7208 4.3)', async () => {
    const resolver = zoneResolver({ 'example.net': { TXT: ['v=spf1 -all exp=e.example.net'] }, 'e.example.net': { TXT: ['%{l} at %{o}'] } });
    const v = await verifySpf({ ip: '192.0.2.1', mailFrom: '@example.net', helo: 'h.example.org' }, resolver, { checkHelo: false });
    expect(v.result === 'fail' && v.explanation).toBe('postmaster at example.net');
  });
  it('drops a source route (RFC 5321 4.1.2)', async () => {
    const v = await verifySpf({ ip: '192.0.2.1', mailFrom: '<@relay.example:user@example.com>', helo: 'h' }, zoneResolver(zone));
    expect(v).toMatchObject({ sender: 'user@example.com', result: 'pass' });
  });
});
