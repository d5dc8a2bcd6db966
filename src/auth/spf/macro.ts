/**
 * SPF macros (RFC 7208 7): compiled once when the record is parsed, expanded per check.
 *
 *   macro-string = *( macro-expand / macro-literal )
 *   macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
 *   macro-literal = %x21-24 / %x26-7E          ; visible characters except "%"
 *   macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
 *   transformers = *DIGIT [ "r" ]
 *   delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
 */
import type { MacroExpand, MacroLetter, MacroString } from './types.js';

/** The values macros expand to during one check (RFC 7208 7.2). */
export interface MacroValues {
  /** <sender>, with "postmaster" for an empty local-part. */
  s: string;
  /** local-part of <sender>. */
  l: string;
  /** domain of <sender>. */
  o: string;
  /** <domain>: the domain whose record is being evaluated. */
  d: string;
  /** <ip> in dot format. */
  i: string;
  /** The validated domain name of <ip>, or "unknown"; filled in before expanding a string that uses it. */
  p: string;
  /** "in-addr" or "ip6". */
  v: string;
  /** HELO/EHLO domain. */
  h: string;
  /** Readable client address (explanations only). */
  c: string;
  /** Our host name (explanations only). */
  r: string;
  /** Seconds since the epoch (explanations only). */
  t: string;
}

/** Where a macro-string stands: domain-specs may not use c, r, t (RFC 7208 7.2). */
export type MacroContext = 'domain' | 'explanation' | 'modifier';

const LETTERS = 'sloipvhcrtd';
const EXPLANATION_ONLY = 'crt';
const DELIMITERS = '.-+,/_=';

export type CompileResult = { ok: true; macro: MacroString } | { ok: false; message: string };

/**
 * Compiles a macro-string. `explanation` text may also hold spaces (explain-string, RFC 7208
 * 6.2); elsewhere the caller has already cut the term at spaces.
 */
export function compileMacroString(source: string, context: MacroContext): CompileResult {
  const parts: Array<string | MacroExpand> = [];
  let literal = '';
  let usesP = false;
  const bad = badCharacter(source, context === 'explanation');
  if (bad !== undefined) return { ok: false, message: bad };
  let i = source.indexOf('%');
  if (i < 0) return { ok: true, macro: { source, constant: source, parts: [], usesP: false } };
  literal = source.slice(0, i);
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (c !== 37) {
      literal += source[i];
      i++;
      continue;
    }
    const next = source[i + 1];
    if (next === '%') literal += '%';
    else if (next === '_') literal += ' ';
    else if (next === '-') literal += '%20';
    else if (next === '{') {
      const close = source.indexOf('}', i + 2);
      if (close < 0) return { ok: false, message: `unterminated macro "${source.slice(i)}" (RFC 7208 7.1)` };
      const body = source.slice(i + 2, close);
      const macro = compileExpand(body, context);
      if (typeof macro === 'string') return { ok: false, message: macro };
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(macro);
      usesP ||= macro.letter === 'p';
      i = close + 1;
      continue;
    } else {
      const shown = next === undefined ? '"%" at the end' : `"%${next}"`;
      return {
        ok: false,
        message: `${shown} in "${source}": a "%" must be followed by "{", "%", "_" or "-"; write "%%" for a literal percent (RFC 7208 7.1)`,
      };
    }
    i += 2;
  }
  if (literal !== '') parts.push(literal);
  const constant = parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : parts.length === 0 ? '' : undefined;
  return { ok: true, macro: { source, constant, parts: constant === undefined ? parts : [], usesP } };
}

/** macro-literal is %x21-24 / %x26-7E; explain-string adds SP (RFC 7208 6.2, 7.1). */
function badCharacter(source: string, spaces: boolean): string | undefined {
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if ((c > 0x20 && c < 0x7f) || (spaces && c === 0x20)) continue;
    return `character ${describeChar(c)} at position ${i + 1} of "${source}" is not allowed: SPF text is visible US-ASCII (RFC 7208 7.1)`;
  }
  return undefined;
}

/** Names a character for a message: "U+0096", "U+000D (CR)", "' ' (space)". */
export function describeChar(c: number): string {
  const names: Record<number, string> = { 0: 'NUL', 9: 'TAB', 10: 'LF', 13: 'CR', 32: 'space' };
  const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[c] === undefined ? code : `${code} (${names[c]})`;
}

/** Compiles the inside of "%{…}"; returns the error message on bad syntax. */
function compileExpand(body: string, context: MacroContext): MacroExpand | string {
  const raw = body[0];
  const letter = raw?.toLowerCase();
  if (raw === undefined || letter === undefined || !LETTERS.includes(letter)) {
    return `unknown macro letter in "%{${body}}": the letters are s l o d i p v h, and c r t in explanations (RFC 7208 7.2)`;
  }
  if (context === 'domain' && EXPLANATION_ONLY.includes(letter)) {
    return `"%{${body}}" may only be used in explanation text, not in a domain name (RFC 7208 7.2)`;
  }
  let i = 1;
  let keep = 0;
  let digits = 0;
  while (i < body.length && body.charCodeAt(i) >= 48 && body.charCodeAt(i) <= 57) {
    keep = Math.min(keep * 10 + (body.charCodeAt(i) - 48), 1000);
    digits++;
    i++;
  }
  if (digits > 0 && keep === 0) return `"%{${body}}" asks for zero parts; the number must be nonzero (RFC 7208 7.3)`;
  let reverse = false;
  if (body[i] === 'r' || body[i] === 'R') {
    reverse = true;
    i++;
  }
  const delimiters = body.slice(i);
  for (const d of delimiters) {
    if (!DELIMITERS.includes(d)) {
      return `bad transformer or delimiter "${d}" in "%{${body}}": delimiters are . - + , / _ = (RFC 7208 7.1)`;
    }
  }
  return { letter: letter as MacroLetter, keep, reverse, delimiters: delimiters || '.', escape: raw !== letter };
}

/** Expands a compiled macro-string (RFC 7208 7.3). Pure; %{p} must already be in `values`. */
export function expandMacroString(macro: MacroString, values: MacroValues): string {
  if (macro.constant !== undefined) return macro.constant;
  let out = '';
  for (const part of macro.parts) out += typeof part === 'string' ? part : expandOne(part, values);
  return out;
}

function expandOne(macro: MacroExpand, values: MacroValues): string {
  let value = values[macro.letter];
  if (macro.keep > 0 || macro.reverse || macro.delimiters !== '.') {
    let pieces = splitOn(value, macro.delimiters);
    if (macro.reverse) pieces.reverse();
    if (macro.keep > 0 && macro.keep < pieces.length) pieces = pieces.slice(pieces.length - macro.keep);
    value = pieces.join('.'); // RFC 7208 7.3: rejoined with "." whatever the delimiters
  }
  return macro.escape ? urlEscape(value) : value;
}

function splitOn(value: string, delimiters: string): string[] {
  if (delimiters.length === 1) return value.split(delimiters);
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (delimiters.includes(value[i]!)) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

/** RFC 7208 7.3: uppercase macros are URL-escaped: everything outside RFC 3986 "unreserved". */
export function urlEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
