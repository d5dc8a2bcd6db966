/**
 * The Author Domain (RFC 9989 §3.2.2, §5.3.1): the domain of the RFC5322.From address.
 *
 * ```abnf
 * from          = "From:" mailbox-list CRLF                   ; RFC 5322 3.6.2
 * address       = mailbox / group                             ; RFC 5322 3.4
 * mailbox       = name-addr / addr-spec
 * name-addr     = [display-name] angle-addr
 * angle-addr    = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
 * group         = display-name ":" [group-list] ";" [CFWS]
 * addr-spec     = local-part "@" domain
 * ```
 * Only the addr-spec counts: a display name that looks like an address ("paypal.com" or
 * `support@paypal.com` in quotes) is just a phrase (§11.4). Comments are skipped (RFC 5322 3.2.2),
 * quoted strings may hold "@", and an RFC 2047 encoded word is one word of a phrase whatever it
 * holds. Anything ambiguous is `unparseable`, never a guess.
 */
import { domainToASCII } from 'node:url';
import type { FromDomainError } from './types.js';

export type FromDomainExtraction = { ok: true; domain: string } | { ok: false; reason: FromDomainError };

type Token =
  | { kind: 'word'; text: string } // atom, dot-atom or encoded word
  | { kind: 'quoted'; text: string }
  | { kind: 'literal'; text: string } // [domain literal]
  | { kind: 'special'; text: '<' | '>' | '@' | ',' | ':' | ';' };

/** RFC 2047 2: =?charset?encoding?encoded-text?= */
const ENCODED_WORD = /^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=/;
const SPECIALS = new Set(['<', '>', '@', ',', ':', ';']);

/**
 * Extracts the single Author Domain from the values of the message's From header fields
 * (§5.3.1: zero or several domains → DMARC validation is not possible). A field that lists
 * several mailboxes of one domain gives that domain; U-labels become A-labels (§5.3.1).
 */
export function extractFromDomain(headerValues: readonly string[]): FromDomainExtraction {
  if (headerValues.length === 0) return { ok: false, reason: 'no From' };
  if (headerValues.length > 1) return { ok: false, reason: 'multiple From' };
  const tokens = tokenize(headerValues[0]!.replace(/\r?\n(?=[ \t])/g, ''));
  if (tokens === undefined) return { ok: false, reason: 'unparseable' };
  const mailboxes = splitAddresses(tokens);
  if (mailboxes === undefined) return { ok: false, reason: 'unparseable' };
  if (mailboxes.length === 0) return { ok: false, reason: 'no From' };
  const domains = new Set<string>();
  for (const mailbox of mailboxes) {
    const domain = mailboxDomain(mailbox);
    if (domain === undefined) return { ok: false, reason: 'unparseable' };
    domains.add(domain);
  }
  if (domains.size > 1) return { ok: false, reason: 'multiple addresses' };
  return { ok: true, domain: [...domains][0]! };
}

/** Splits a header value into tokens, dropping whitespace and (nested) comments. */
function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      for (; i < text.length; i++) {
        const d = text[i]!;
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      if (depth !== 0) return undefined; // unclosed comment
      i++;
    } else if (c === '"' || c === '[') {
      const close = c === '"' ? '"' : ']';
      let body = '';
      for (i++; i < text.length && text[i] !== close; i++) {
        if (text[i] === '\\' && c === '"') i++;
        body += text[i] ?? '';
      }
      if (i >= text.length) return undefined; // unclosed
      tokens.push({ kind: c === '"' ? 'quoted' : 'literal', text: body });
      i++;
    } else if (SPECIALS.has(c)) {
      tokens.push({ kind: 'special', text: c as '<' });
      i++;
    } else {
      const encoded = ENCODED_WORD.exec(text.slice(i));
      let end = i + (encoded?.[0].length ?? 0);
      if (!encoded) while (end < text.length && !/[\s()"[\]<>@,:;\\]/.test(text[end]!)) end++;
      if (end === i) return undefined; // a stray "\" or "]"
      tokens.push({ kind: 'word', text: text.slice(i, end) });
      i = end;
    }
  }
  return tokens;
}

/** Splits the address-list into mailboxes, opening groups (RFC 5322 3.4). */
function splitAddresses(tokens: Token[]): Token[][] | undefined {
  const mailboxes: Token[][] = [];
  let current: Token[] = [];
  let inGroup = false;
  let inAngle = false;
  const flush = (): void => {
    if (current.length > 0) mailboxes.push(current);
    current = [];
  };
  for (const token of tokens) {
    if (token.kind === 'special' && token.text === '<') inAngle = true;
    if (token.kind === 'special' && token.text === '>') inAngle = false;
    if (token.kind !== 'special' || inAngle || token.text === '<' || token.text === '>' || token.text === '@') {
      current.push(token);
    } else if (token.text === ',') {
      flush();
    } else if (token.text === ':') {
      // display-name ":" opens a group; the phrase before it is its name, not a mailbox.
      if (inGroup || current.some((t) => t.kind === 'special')) return undefined;
      current = [];
      inGroup = true;
    } else {
      // ";" closes a group.
      if (!inGroup) return undefined;
      flush();
      inGroup = false;
    }
  }
  if (inAngle || inGroup) return undefined;
  flush();
  return mailboxes;
}

/** The lowercase A-label domain of one mailbox, or undefined if it is not a mailbox. */
function mailboxDomain(tokens: Token[]): string | undefined {
  const open = tokens.findIndex((t) => t.kind === 'special' && t.text === '<');
  let spec = tokens;
  if (open >= 0) {
    const close = tokens.findIndex((t) => t.kind === 'special' && t.text === '>');
    const phrase = tokens.slice(0, open);
    // name-addr: the display name is words and quoted strings only, and nothing follows ">".
    if (close !== tokens.length - 1 || phrase.some((t) => t.kind !== 'word' && t.kind !== 'quoted')) return undefined;
    spec = tokens.slice(open + 1, close);
    // obs-route ("@a,@b:") would have been split at ",": refuse it rather than guess.
    if (spec.some((t) => t.kind === 'special' && t.text !== '@')) return undefined;
  }
  const at = spec.findIndex((t) => t.kind === 'special' && t.text === '@');
  if (at <= 0 || spec.slice(at + 1).some((t) => t.kind !== 'word')) return undefined;
  if (spec.slice(0, at).some((t) => t.kind !== 'word' && t.kind !== 'quoted')) return undefined;
  const domain = spec
    .slice(at + 1)
    .map((t) => t.text)
    .join('');
  return toAlabel(domain);
}

/** RFC 5322 3.4.1 dot-atom domain → lowercase A-label (RFC 5890 2.3.2.1), or undefined. */
function toAlabel(domain: string): string | undefined {
  if (domain === '' || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) return undefined;
  if (/^=\?/.test(domain)) return undefined; // an encoded word is never a domain (RFC 2047 5)
  const ascii = domainToASCII(domain);
  if (ascii === '' || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) return undefined;
  if (ascii.split('.').some((label) => label.length > 63) || ascii.length > 253) return undefined;
  return ascii;
}
