/**
 * Named senders and known forwarders (issue #5): the mail services whose reverse-DNS names
 * identify them in DMARC aggregate reports, with the SPF includes a domain publishes to authorise
 * them, and the forwarding services and mailing-list hosts whose mail keeps a DKIM signature but
 * cannot pass SPF for us. Data, not code: add a row to recognise another service.
 *
 * A suffix is a domain the service itself registered, so any host under it is the service's own.
 * Only services whose domains and SPF includes are well documented are listed; an empty
 * `spfIncludes` means the service asks for none or the include is not certain enough to ship.
 * PTR names are not forward-confirmed here: a name is what the owner of the address's reverse
 * zone chose to publish.
 */
import { getDomain } from 'tldts';

export interface NamedSender {
  name: string;
  /** PTR-name suffixes (a name equal to one, or ending in "." + one, belongs to this sender). */
  ptrSuffixes: readonly string[];
  /** What the sender asks its customers to put in their SPF record (include:…). */
  spfIncludes: readonly string[];
}

export const NAMED_SENDERS: readonly NamedSender[] = [
  { name: 'Google Workspace', ptrSuffixes: ['google.com', 'googlemail.com'], spfIncludes: ['_spf.google.com'] },
  // Exchange Online (mail-*.outbound.protection.outlook.com) and Outlook.com.
  { name: 'Microsoft 365', ptrSuffixes: ['protection.outlook.com', 'outlook.com'], spfIncludes: ['spf.protection.outlook.com'] },
  // Every region: a8-30.smtp-out.amazonses.com, e226-1.smtp-out.eu-west-1.amazonses.com, …
  { name: 'Amazon SES', ptrSuffixes: ['amazonses.com'], spfIncludes: ['amazonses.com'] },
  { name: 'SendGrid', ptrSuffixes: ['sendgrid.net'], spfIncludes: ['sendgrid.net'] },
  { name: 'Mailchimp/Mandrill', ptrSuffixes: ['mcsv.net', 'rsgsv.net', 'mandrillapp.com'], spfIncludes: ['servers.mcsv.net', 'spf.mandrillapp.com'] },
  { name: 'Mailgun', ptrSuffixes: ['mailgun.net', 'mailgun.org'], spfIncludes: ['mailgun.org', 'eu.mailgun.org'] },
  { name: 'Postmark', ptrSuffixes: ['mtasv.net'], spfIncludes: ['spf.mtasv.net'] },
  { name: 'Salesforce', ptrSuffixes: ['salesforce.com', 'exacttarget.com'], spfIncludes: ['_spf.salesforce.com', 'cust-spf.exacttarget.com'] },
  { name: 'Zendesk', ptrSuffixes: ['zendesk.com'], spfIncludes: ['mail.zendesk.com'] },
  { name: 'HubSpot', ptrSuffixes: ['hubspotemail.net'], spfIncludes: ['_spf.hubspotemail.net'] },
  { name: 'SparkPost', ptrSuffixes: ['sparkpostmail.com'], spfIncludes: ['sparkpostmail.com'] },
  { name: 'Brevo', ptrSuffixes: ['sendinblue.com', 'brevo.com'], spfIncludes: ['spf.brevo.com', 'spf.sendinblue.com'] },
  { name: 'Mailjet', ptrSuffixes: ['mailjet.com'], spfIncludes: ['spf.mailjet.com'] },
  { name: 'Zoho Mail', ptrSuffixes: ['zoho.com', 'zoho.eu', 'zoho.in', 'zohomail.com'], spfIncludes: ['zohomail.com', 'zoho.com', 'zoho.eu', 'zoho.in'] },
  // out1-smtp.messagingengine.com
  { name: 'Fastmail', ptrSuffixes: ['messagingengine.com'], spfIncludes: ['spf.messagingengine.com'] },
  { name: 'Proton Mail', ptrSuffixes: ['protonmail.ch', 'protonmail.com', 'proton.me'], spfIncludes: ['_spf.protonmail.ch'] },
  // Gateways in front of a company's own mail: mx0a-001234.pphosted.com (Proofpoint on Demand), ppe-hosted.com (Essentials).
  { name: 'Proofpoint', ptrSuffixes: ['pphosted.com', 'ppe-hosted.com'], spfIncludes: [] },
  { name: 'Mimecast', ptrSuffixes: ['mimecast.com'], spfIncludes: ['_netblocks.mimecast.com', 'us._netblocks.mimecast.com', 'eu._netblocks.mimecast.com'] },
  // sonic301-20.consmr.mail.bf2.yahoo.com (Yahoo and AOL mail).
  { name: 'Yahoo', ptrSuffixes: ['yahoo.com', 'aol.com'], spfIncludes: ['_spf.mail.yahoo.com'] },
  // Custom-domain iCloud+ mail: st43p00im-zteg10062001.me.com
  { name: 'iCloud', ptrSuffixes: ['me.com', 'icloud.com', 'mac.com'], spfIncludes: ['icloud.com'] },
  { name: 'Freshdesk', ptrSuffixes: ['freshdesk.com'], spfIncludes: ['email.freshdesk.com'] },
  { name: 'Constant Contact', ptrSuffixes: ['constantcontact.com'], spfIncludes: ['spf.constantcontact.com'] },
  { name: 'Klaviyo', ptrSuffixes: ['klaviyomail.com', 'klaviyo.com'], spfIncludes: [] },
  { name: 'SMTP2GO', ptrSuffixes: ['smtp2go.com'], spfIncludes: ['spf.smtp2go.com'] },
  { name: 'GoDaddy', ptrSuffixes: ['secureserver.net'], spfIncludes: ['secureserver.net'] },
];

/** A service that passes other people's mail on: a forwarding mailbox or a mailing list. */
export interface KnownForwarder {
  name: string;
  kind: 'forwarding' | 'mailing-list';
  /** PTR-name suffixes, matched as for named senders. */
  ptrSuffixes: readonly string[];
}

/**
 * Mail from these hosts that passes DKIM for our domain but not SPF was most likely sent by us
 * (or a service of ours) and passed on: RFC 7960 3.2.1 (forwarding) and 3.2.3 (mailing lists).
 * The big mailbox providers forward from the same hosts they send from, so a source can be both
 * a named sender and a known forwarder; the DKIM/SPF pattern decides which it looks like.
 */
export const KNOWN_FORWARDERS: readonly KnownForwarder[] = [
  { name: 'Google (Gmail forwarding, Google Groups)', kind: 'forwarding', ptrSuffixes: ['google.com', 'googlemail.com'] },
  { name: 'Microsoft (Outlook.com and Exchange Online forwarding)', kind: 'forwarding', ptrSuffixes: ['protection.outlook.com', 'outlook.com'] },
  { name: 'iCloud (forwarding, Hide My Email)', kind: 'forwarding', ptrSuffixes: ['me.com', 'icloud.com'] },
  { name: 'Fastmail (forwarding, masked email)', kind: 'forwarding', ptrSuffixes: ['messagingengine.com'] },
  { name: 'Yahoo (forwarding)', kind: 'forwarding', ptrSuffixes: ['yahoo.com'] },
  { name: 'Pobox', kind: 'forwarding', ptrSuffixes: ['pobox.com'] },
  { name: 'Forward Email', kind: 'forwarding', ptrSuffixes: ['forwardemail.net'] },
  { name: 'ImprovMX', kind: 'forwarding', ptrSuffixes: ['improvmx.com'] },
  { name: 'SimpleLogin', kind: 'forwarding', ptrSuffixes: ['simplelogin.co'] },
  { name: 'Cloudflare Email Routing', kind: 'forwarding', ptrSuffixes: ['cloudflare.net'] },
  { name: 'Groups.io', kind: 'mailing-list', ptrSuffixes: ['groups.io'] },
  { name: 'Debian lists', kind: 'mailing-list', ptrSuffixes: ['debian.org'] },
  { name: 'Linux kernel lists (vger, subspace)', kind: 'mailing-list', ptrSuffixes: ['kernel.org'] },
  { name: 'GNU lists', kind: 'mailing-list', ptrSuffixes: ['gnu.org'] },
  { name: 'Python lists', kind: 'mailing-list', ptrSuffixes: ['python.org'] },
  { name: 'Apache lists', kind: 'mailing-list', ptrSuffixes: ['apache.org'] },
  { name: 'FreeBSD lists', kind: 'mailing-list', ptrSuffixes: ['freebsd.org'] },
  { name: 'IETF lists', kind: 'mailing-list', ptrSuffixes: ['ietf.org'] },
  { name: 'W3C lists', kind: 'mailing-list', ptrSuffixes: ['w3.org'] },
  { name: 'SourceForge lists', kind: 'mailing-list', ptrSuffixes: ['sourceforge.net'] },
];

function normalise(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

/** The row whose suffix is the longest one the host name ends with, or null. */
function longestSuffixMatch<T extends { ptrSuffixes: readonly string[] }>(rows: readonly T[], ptr: string | null | undefined): T | null {
  if (!ptr) return null;
  const host = normalise(ptr);
  let best: { row: T; length: number } | null = null;
  for (const row of rows) {
    for (const suffix of row.ptrSuffixes) {
      if ((host === suffix || host.endsWith(`.${suffix}`)) && (!best || suffix.length > best.length)) best = { row, length: suffix.length };
    }
  }
  return best?.row ?? null;
}

/** The named sender a PTR name belongs to (longest matching suffix wins), or null. */
export function identifySender(ptr: string | null | undefined): { name: string } | null {
  const row = longestSuffixMatch(NAMED_SENDERS, ptr);
  return row ? { name: row.name } : null;
}

/** The known forwarder or mailing-list host a PTR name belongs to, or null. */
export function identifyForwarder(ptr: string | null | undefined): { name: string; kind: KnownForwarder['kind'] } | null {
  const row = longestSuffixMatch(KNOWN_FORWARDERS, ptr);
  return row ? { name: row.name, kind: row.kind } : null;
}

/**
 * The registrable domain of a host name by the ICANN section of the Public Suffix List (tldts):
 * mx.mail.example.co.uk → example.co.uk. The private section is left out on purpose: under it
 * every customer host of a cloud (compute-1.amazonaws.com) would be its own base domain, while
 * grouping PTR names wants the operator. A name with no registrable part (localhost, a bare
 * suffix) is returned as it is. For grouping PTR names, not for DMARC alignment (RFC 9989 walks
 * the DNS tree instead).
 */
export function baseDomain(ptr: string): string {
  const host = normalise(ptr);
  // PTR names are not always valid host names ("_" and odd labels occur); group them anyway.
  return getDomain(host, { allowPrivateDomains: false, extractHostname: false, validateHostname: false }) ?? host;
}
