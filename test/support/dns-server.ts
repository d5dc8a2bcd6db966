// Tests start the real zone server from here, so a test never reaches into src/ for fixtures.
export { startZoneServer, type ZoneServer, type ZoneServerOptions } from '../../src/dns/zone-server.js';
export { lookupZone, zoneResolver, type ZoneData, type ZoneEntry } from '../../src/dns/zone.js';
