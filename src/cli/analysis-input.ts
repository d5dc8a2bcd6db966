/**
 * What `kagami sources` and `kagami overview` read before they analyse: the stored reports that
 * match, the reverse DNS of their source IPs (the store's PTR cache first, then the DNS port),
 * and the addresses Kagami sent from.
 */
import { loadReports } from '../analysis/load.js';
import { cachedReverseLookups, outboundAddresses } from '../analysis/ptr-cache.js';
import type { SourceEnrichment } from '../analysis/sources.js';
import type { KagamiConfig } from '../config/schema.js';
import { buildResolver } from '../runtime.js';
import type { ReportFilter, StoredReport } from '../store/types.js';
import { withDataStore } from './data-store.js';

export interface AnalysisInput {
  reports: StoredReport[];
  enrich: Map<string, SourceEnrichment>;
  ours: Set<string>;
}

export function loadAnalysisInput(config: Readonly<KagamiConfig>, filter: ReportFilter, now: number): Promise<AnalysisInput> {
  const empty: AnalysisInput = { reports: [], enrich: new Map(), ours: new Set() };
  return withDataStore(
    config.data_dir,
    async (store) => {
      const reports = await loadReports(store, filter);
      const ips = reports.flatMap((r) => r.aggregateRecords.map((x) => x.sourceIp));
      const ours = await outboundAddresses(store);
      if (ips.length === 0) return { reports, enrich: empty.enrich, ours };
      const resolver = buildResolver(config);
      try {
        return { reports, enrich: (await cachedReverseLookups({ store, resolver, now }, ips)).enrich, ours };
      } finally {
        resolver.close();
      }
    },
    () => empty,
  );
}
