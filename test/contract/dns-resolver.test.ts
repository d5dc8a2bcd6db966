// Runs the DnsResolver contract against the fake, the stub resolver over real sockets, and the
// cache in front of the stub resolver.
import { withCache } from '../../src/dns/cache.js';
import { parseDnsServer } from '../../src/dns/servers.js';
import { createStubResolver, type StubResolver } from '../../src/dns/stub.js';
import { zoneResolver } from '../../src/dns/zone.js';
import { startZoneServer } from '../support/dns-server.js';
import { runResolverContract, type ResolverUnderTest } from './dns-resolver.contract.js';
import type { ZoneData } from '../../src/dns/zone.js';

/** A stub resolver against a real zone server on 127.0.0.1; short timeouts keep TIMEOUT cases fast. */
async function stubAgainstServer(zone: ZoneData): Promise<ResolverUnderTest & { stub: StubResolver }> {
  const server = await startZoneServer(zone);
  const stub = createStubResolver({ servers: [parseDnsServer(server.address)], timeoutMs: 200, attempts: 2 });
  return {
    stub,
    resolver: stub,
    async close() {
      stub.close();
      await server.close();
    },
  };
}

runResolverContract('zoneResolver (in-memory fake)', async (zone) => ({
  resolver: zoneResolver(zone),
  close: async () => undefined,
}));

runResolverContract('createStubResolver over UDP/TCP', stubAgainstServer);

runResolverContract('withCache(createStubResolver)', async (zone) => {
  const inner = await stubAgainstServer(zone);
  return { resolver: withCache(inner.stub), close: inner.close };
});
