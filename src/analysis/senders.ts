/**
 * Named senders (issue #5): the mail services whose reverse-DNS names identify them in DMARC
 * aggregate reports, with the SPF includes a domain publishes to authorise them. Data, not code:
 * add a row to recognise another service.
 */

export interface NamedSender {
  name: string;
  /** PTR-name suffixes (a name equal to one, or ending in "." + one, belongs to this sender). */
  ptrSuffixes: readonly string[];
  /** What the sender asks its customers to put in their SPF record. */
  spfIncludes: readonly string[];
}

export const NAMED_SENDERS: readonly NamedSender[] = [
  { name: 'Google Workspace', ptrSuffixes: ['google.com', 'googlemail.com'], spfIncludes: ['_spf.google.com'] },
  { name: 'Microsoft 365', ptrSuffixes: ['protection.outlook.com', 'outlook.com'], spfIncludes: ['spf.protection.outlook.com'] },
  { name: 'Amazon SES', ptrSuffixes: ['amazonses.com'], spfIncludes: ['amazonses.com'] },
  { name: 'SendGrid', ptrSuffixes: ['sendgrid.net'], spfIncludes: ['sendgrid.net'] },
  { name: 'Mailchimp/Mandrill', ptrSuffixes: ['mcsv.net', 'rsgsv.net', 'mandrillapp.com'], spfIncludes: ['servers.mcsv.net', 'spf.mandrillapp.com'] },
  { name: 'Mailgun', ptrSuffixes: ['mailgun.net', 'mailgun.org'], spfIncludes: ['mailgun.org'] },
  { name: 'Postmark', ptrSuffixes: ['mtasv.net'], spfIncludes: ['spf.mtasv.net'] },
  { name: 'Salesforce', ptrSuffixes: ['salesforce.com', 'exacttarget.com'], spfIncludes: ['_spf.salesforce.com', 'cust-spf.exacttarget.com'] },
  { name: 'Zendesk', ptrSuffixes: ['zendesk.com'], spfIncludes: ['mail.zendesk.com'] },
  { name: 'HubSpot', ptrSuffixes: ['hubspotemail.net'], spfIncludes: ['_spf.hubspotemail.net'] },
  { name: 'SparkPost', ptrSuffixes: ['sparkpostmail.com'], spfIncludes: ['sparkpostmail.com'] },
  { name: 'Brevo', ptrSuffixes: ['sendinblue.com', 'brevo.com'], spfIncludes: ['spf.brevo.com'] },
];

function normalise(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

/** The named sender a PTR name belongs to (longest matching suffix wins), or null. */
export function identifySender(ptr: string | null | undefined): { name: string } | null {
  if (!ptr) return null;
  const host = normalise(ptr);
  let best: { name: string; length: number } | null = null;
  for (const s of NAMED_SENDERS) {
    for (const suffix of s.ptrSuffixes) {
      if ((host === suffix || host.endsWith(`.${suffix}`)) && (!best || suffix.length > best.length)) best = { name: s.name, length: suffix.length };
    }
  }
  return best ? { name: best.name } : null;
}

/**
 * Two-label public suffixes under which registrations take three labels. A short hand-kept list,
 * not the Public Suffix List: good enough to group PTR names, not to decide DMARC alignment.
 */
const TWO_LABEL_SUFFIXES = new Set([
  'co.uk', 'org.uk', 'ac.uk', 'gov.uk', 'me.uk', 'ltd.uk', 'plc.uk', 'net.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au',
  'co.nz', 'org.nz', 'net.nz', 'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'co.kr', 'or.kr',
  'com.br', 'net.br', 'org.br', 'com.mx', 'org.mx', 'gob.mx', 'com.ar', 'com.cn', 'net.cn', 'org.cn',
  'com.tw', 'com.hk', 'com.sg', 'com.tr', 'co.in', 'net.in', 'org.in', 'co.za', 'co.il', 'com.ua', 'co.id', 'com.my',
]);

/** The registrable-looking part of a host name: its last two labels, or three under a suffix above. */
export function baseDomain(ptr: string): string {
  const labels = normalise(ptr).split('.').filter((l) => l !== '');
  if (labels.length <= 2) return labels.join('.');
  const lastTwo = labels.slice(-2).join('.');
  return TWO_LABEL_SUFFIXES.has(lastTwo) ? labels.slice(-3).join('.') : lastTwo;
}
