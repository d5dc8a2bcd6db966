/**
 * Random but valid SPF policies for the pyspf differential (seeded, so every run is the same):
 * ip4/ip6 networks, a and mx with dual CIDR lengths, include chains, redirect, exists with
 * macros, all four qualifiers, ptr now and then, exp= with macros; plus the zone that answers
 * them (addresses, MX hosts, PTR names that do and do not validate, void names) and the checks
 * (client address, sender, HELO) to run against it.
 */
import type { ZoneData } from '../../src/dns/zone.js';

export interface RandomCheck {
  ip: string;
  sender: string;
  helo: string;
}

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomPolicies(seed: number, count: number): { zone: ZoneData; checks: RandomCheck[] } {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const zone: ZoneData = {};
  const add = (name: string, entry: ZoneData[string]): void => {
    zone[name] = { ...zone[name], ...entry };
  };

  const v4 = (): string => `${pick(['192.0.2', '198.51.100', '203.0.113'])}.${1 + int(254)}`;
  const v6 = (): string => `2001:db8:${int(4).toString(16)}::${(1 + int(0xfffe)).toString(16)}`;
  const qualifier = (): string => pick(['', '', '', '+', '-', '~', '?']);
  /** Addresses that will appear in the zone; clients are drawn from them half of the time. */
  const known: string[] = [];
  const address = (): string => {
    const ip = chance(0.7) ? v4() : v6();
    known.push(ip);
    return ip;
  };
  const hostWithAddresses = (name: string): void => {
    const ips = Array.from({ length: 1 + int(3) }, address);
    add(name, { A: ips.filter((ip) => !ip.includes(':')), AAAA: ips.filter((ip) => ip.includes(':')) });
  };

  function record(domain: string, depth: number): string {
    const terms: string[] = [];
    for (let n = 1 + int(5); n > 0; n--) {
      const q = qualifier();
      switch (int(depth < 3 ? 11 : 9)) {
        case 0: {
          const ip = chance(0.5) ? address() : v4();
          terms.push(`${q}ip4:${ip.includes(':') ? v4() : ip}/${pick([8, 16, 24, 25, 30, 32])}`);
          break;
        }
        case 1: {
          const ip = chance(0.5) ? address() : v6();
          terms.push(`${q}ip6:${ip.includes(':') ? ip : v6()}/${pick([16, 32, 48, 64, 96, 128])}`);
          break;
        }
        case 2:
          hostWithAddresses(domain);
          terms.push(`${q}a${pick(['', '', '/24', '//64', '/16//48'])}`);
          break;
        case 3: {
          const host = `h${int(6)}.${domain}`;
          if (chance(0.8)) hostWithAddresses(host);
          terms.push(`${q}a:${host}${pick(['', '/30', '//120'])}`);
          break;
        }
        case 4: {
          const mx = Array.from({ length: 1 + int(3) }, (_, i) => ({ exchange: `mx${i}.${domain}`, preference: 10 * (1 + int(3)) }));
          for (const m of mx) if (chance(0.85)) hostWithAddresses(m.exchange);
          add(domain, { MX: mx });
          terms.push(`${q}mx${pick(['', '', '/24', '//64'])}`);
          break;
        }
        case 5:
          terms.push(`${q}exists:%{i}.bl.${domain}`);
          for (const ip of known.slice(-3)) if (chance(0.5)) add(`${ip.includes(':') ? expandNibbles(ip) : ip}.bl.${domain}`, { A: ['127.0.0.2'] });
          break;
        case 6:
          terms.push(`${q}exists:%{l}.users.${domain}`);
          add(`user.users.${domain}`, { A: ['127.0.0.2'] });
          break;
        case 7:
          terms.push(`${q}${chance(0.5) ? 'ptr' : `ptr:${domain}`}`);
          break;
        case 8:
          if (chance(0.1)) {
            add(`broken.${domain}`, { SERVFAIL: true });
            terms.push(`${q}${pick(['a', 'mx', 'exists'])}:broken.${domain}`);
          } else {
            terms.push(`${q}a:void${int(4)}.${domain}`);
          }
          break;
        default: {
          const sub = `i${int(1000)}.${domain}`;
          if (chance(0.9)) add(sub, { TXT: [record(sub, depth + 1)] });
          terms.push(`${q}include:${sub}`);
        }
      }
    }
    const end = random();
    if (end < 0.65) terms.push(`${pick(['-', '~', '?', '+', '-', '-'])}all`);
    else if (end < 0.8 && depth < 3) {
      const target = `r${int(1000)}.${domain}`;
      if (chance(0.9)) add(target, { TXT: [record(target, depth + 1)] });
      terms.push(`redirect=${target}`);
    }
    if (chance(0.25)) {
      terms.push(`exp=exp.${domain}`);
      add(`exp.${domain}`, { TXT: [pick(['%{i} is not allowed to send for %{d}', 'See https://example.com/spf?ip=%{c}&s=%{S}', 'Mail from %{o} via %{h} refused', 'plain words'])] });
    }
    return `v=spf1 ${terms.join(' ')}`;
  }

  const checks: RandomCheck[] = [];
  for (let i = 0; i < count; i++) {
    const domain = `d${i}.rnd.test`;
    add(domain, { TXT: [record(domain, 0)] });
    const ip = chance(0.55) && known.length > 0 ? pick(known.slice(-12)) : chance(0.7) ? v4() : v6();
    if (chance(0.3)) {
      // A PTR name for the client, validating or not, sometimes under the domain.
      const name = pick([`mail.${domain}`, `host.${domain}`, `other.example.net`]);
      add(reverse(ip), { PTR: [name] });
      if (chance(0.6)) add(name, ip.includes(':') ? { AAAA: [ip] } : { A: [ip] });
    }
    checks.push({ ip, sender: `${pick(['user', 'a.b', 'x-y+z', 'user'])}@${domain}`, helo: pick([`mta.${domain}`, 'mail.example.org']) });
  }
  return { zone, checks };
}

function expandNibbles(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const groups = [...head.split(':').filter(Boolean), ...Array(8 - head.split(':').filter(Boolean).length - tail.split(':').filter(Boolean).length).fill('0'), ...tail.split(':').filter(Boolean)];
  return groups.map((g) => g.padStart(4, '0')).join('').split('').join('.');
}

function reverse(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expandNibbles(ip).split('.').reverse().join('.')}.ip6.arpa`;
}
