/** DMARC aggregate report XML (RFC 7489 appendix C) written by tests, for periods near now. */

export interface XmlRecord {
  ip: string;
  count: number;
  disposition?: 'none' | 'quarantine' | 'reject';
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  headerFrom?: string;
}

export interface XmlReport {
  org: string;
  email?: string;
  reportId: string;
  domain: string;
  /** Seconds since the epoch. */
  begin: number;
  end: number;
  records: XmlRecord[];
}

export function aggregateXml(r: XmlReport): string {
  const records = r.records
    .map(
      (x) => `<record><row><source_ip>${x.ip}</source_ip><count>${x.count}</count><policy_evaluated><disposition>${x.disposition ?? 'none'}</disposition><dkim>${x.dkim}</dkim><spf>${x.spf}</spf></policy_evaluated></row>` +
        `<identifiers><header_from>${x.headerFrom ?? r.domain}</header_from></identifiers>` +
        `<auth_results><dkim><domain>${r.domain}</domain><result>${x.dkim}</result></dkim><spf><domain>${r.domain}</domain><result>${x.spf}</result></spf></auth_results></record>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>${r.org}</org_name><email>${r.email ?? `dmarc@${r.org}`}</email><report_id>${r.reportId}</report_id>
<date_range><begin>${r.begin}</begin><end>${r.end}</end></date_range></report_metadata>
<policy_published><domain>${r.domain}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>
${records}
</feedback>
`;
}
