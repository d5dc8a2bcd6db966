/**
 * Reading stored reports for analysis: the summaries that match a filter, then each report with
 * its records. Takes the Store port; the CLI and the alert runner share it.
 */
import type { ReportFilter, Store, StoredReport } from '../store/types.js';

/** Reports read for one analysis at most. */
export const REPORT_LIMIT = 100_000;

export async function loadReports(store: Pick<Store, 'listReports' | 'getReport'>, filter: ReportFilter): Promise<StoredReport[]> {
  const list = await store.listReports({ ...filter, limit: filter.limit ?? REPORT_LIMIT });
  const out: StoredReport[] = [];
  for (const s of list) {
    const r = await store.getReport(s.id);
    if (r) out.push(r);
  }
  return out;
}
