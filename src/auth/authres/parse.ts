/**
 * Reads an Authentication-Results header field (RFC 8601 2.2; ABNF in types.ts). Tolerant, as
 * RFC 8601 5 expects of consumers: comments (CFWS) anywhere, a version after the authserv-id or a
 * method, quoted values, `none`, and the usual deviations of big providers — Microsoft omits the
 * authserv-id and writes bare `action=none`, Gmail leaves `/` and `+` unquoted in `header.b=`. A
 * resinfo that cannot be read is skipped up to the next ";" rather than failing the field.
 * Names (method, result, ptype, property) are lowercased; values are kept as written.
 */
import type { AuthProperty, AuthResult, AuthResults, AuthResultsParse } from './types.js';

/** Keyword (RFC 5321 Ldh-str), loosened to allow "." and "_" as found in the wild. */
const KEYWORD = /[A-Za-z0-9_.-]+/y;
const DIGITS = /\d+/y;
/** Does a resinfo start here (i.e. the authserv-id is missing)? */
const RESINFO_START = /[A-Za-z0-9_-]+[ \t]*(?:\/[ \t]*\d+[ \t]*)?=/y;

/** Parses the field value; a leading "Authentication-Results:" name is accepted and dropped. */
export function parseAuthResults(field: string): AuthResultsParse {
  const text = field
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/\r?\n$/, '')
    .replace(/^authentication-results[ \t]*:/i, '');
  const s = new Scanner(text);
  s.cfws();
  let authservId = '';
  if (!s.test(RESINFO_START)) {
    authservId = s.value();
    if (authservId === '') return { ok: false, reason: 'no authserv-id (RFC 8601 2.2)' };
  }
  s.cfws();
  let version: number | undefined;
  const v = s.match(DIGITS);
  if (v !== undefined) version = Number(v);

  const results: AuthResult[] = [];
  let first = authservId === '';
  for (;;) {
    s.cfws();
    if (s.done()) break;
    if (s.peek() === ';') s.advance();
    else if (!first) {
      s.skipTo(';'); // garbage between results
      continue;
    }
    first = false;
    s.cfws();
    if (s.done()) break;
    const result = resinfo(s);
    if (result === 'none' || result === undefined) continue;
    results.push(result);
  }
  const authResults: AuthResults = { authservId, results };
  if (version !== undefined) authResults.version = version;
  return { ok: true, authResults };
}

/** One resinfo after its ";", or 'none' (no-result), or undefined when unreadable (skipped). */
function resinfo(s: Scanner): AuthResult | 'none' | undefined {
  const method = s.match(KEYWORD)?.toLowerCase();
  if (method === undefined) return skip(s);
  s.cfws();
  if (method === 'none' && (s.done() || s.peek() === ';')) return 'none';
  const result: AuthResult = { method, result: '', properties: [] };
  if (s.peek() === '/') {
    s.advance();
    s.cfws();
    const version = s.match(DIGITS);
    if (version === undefined) return skip(s);
    result.methodVersion = Number(version);
    s.cfws();
  }
  if (s.peek() !== '=') return skip(s);
  s.advance();
  s.cfws();
  const value = s.match(KEYWORD);
  if (value === undefined) return skip(s);
  result.result = value.toLowerCase();
  const comments = s.cfws();
  if (comments[0] !== undefined) result.comment = comments[0];
  for (;;) {
    s.cfws();
    if (s.done() || s.peek() === ';') break;
    let key = s.match(KEYWORD);
    if (key === undefined) {
      s.skipTo(';');
      break;
    }
    s.cfws();
    if (!key.includes('.') && s.peek() === '.') {
      // ptype [CFWS] "." [CFWS] property
      s.advance();
      s.cfws();
      key += `.${s.match(KEYWORD) ?? ''}`;
      s.cfws();
    }
    if (s.peek() !== '=') continue; // a stray word: dropped
    s.advance();
    s.cfws();
    const pvalue = s.value();
    const lower = key.toLowerCase();
    if (lower === 'reason') {
      result.reason = pvalue;
      continue;
    }
    const dot = lower.indexOf('.');
    const property: AuthProperty =
      dot < 0
        ? { ptype: '', property: lower, value: pvalue }
        : { ptype: lower.slice(0, dot), property: lower.slice(dot + 1), value: pvalue };
    result.properties.push(property);
  }
  return result;
}

function skip(s: Scanner): undefined {
  s.skipTo(';');
  return undefined;
}

/** A cursor over the unfolded field. */
class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
  advance(): void {
    this.i++;
  }
  test(re: RegExp): boolean {
    re.lastIndex = this.i;
    return re.test(this.s);
  }
  match(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (m === null) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  /** Skips whitespace and comments; returns the comments' texts (quoted-pairs undone). */
  cfws(): string[] {
    const comments: string[] = [];
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.i++;
      else if (c === '(') comments.push(this.comment());
      else return comments;
    }
  }

  /** A comment, nested parentheses kept in its text; an unclosed one runs to the end. */
  private comment(): string {
    let depth = 0;
    let text = '';
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i]!;
      if (c === '\\' && this.i + 1 < this.s.length) {
        text += this.s[++this.i];
        continue;
      }
      if (c === '(' && depth++ === 0) continue;
      if (c === ')' && --depth === 0) {
        this.i++;
        break;
      }
      text += c;
    }
    return text;
  }

  /** A value: quoted-string (unquoted) or everything up to whitespace, ";" or "(". */
  value(): string {
    if (this.peek() !== '"') return this.match(/[^\s;(]+/y) ?? '';
    let text = '';
    for (this.i++; this.i < this.s.length; this.i++) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        break;
      }
      text += c === '\\' && this.i + 1 < this.s.length ? this.s[++this.i] : c;
    }
    return text;
  }

  skipTo(ch: string): void {
    const at = this.s.indexOf(ch, this.i);
    this.i = at < 0 ? this.s.length : at;
  }
}
