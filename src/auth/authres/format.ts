/**
 * Writes an Authentication-Results header field (RFC 8601 2.2) from the model.
 *
 * Folding (RFC 5322 2.2.3) only ever puts CRLF before a space that is already there, so unfolding
 * gives back the one-line form exactly. Lines are kept within 78 characters (RFC 5322 2.1.1):
 * a result that does not fit on the current line starts a new one, and one that does not fit on a
 * line of its own is folded between its words (a comment between its words too).
 */
import type { AuthProperty, AuthResult, AuthResults } from './types.js';

/** RFC 5322 2.1.1: "SHOULD NOT be more than 78 characters, excluding the CRLF". */
export const MAX_LINE_LENGTH = 78;

/** RFC 2045 5.1 token: printable US-ASCII except SPACE and tspecials ()<>@,;:\"/[]?= */
const TOKEN = /^[\x21\x23-\x27\x2a\x2b\x2d\x2e\x30-\x39\x41-\x5a\x5e-\x7e]+$/;
/** RFC 8601 2.2 pvalue's second form: [ [ local-part ] "@" ] domain-name, local-part a dot-atom. */
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+";
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?';
const ADDRESS = new RegExp(`^(?:${ATEXT}(?:\\.${ATEXT})*)?@${LABEL}(?:\\.${LABEL})*$`);

/** The whole header field, name included, folded, ending in CRLF. */
export function formatAuthResults(model: AuthResults): string {
  let head = 'Authentication-Results:';
  if (model.authservId !== '') head += ` ${formatValue(model.authservId)}`;
  if (model.version !== undefined) head += ` ${model.version}`;
  if (model.authservId !== '') head += ';';
  const groups = model.results.length === 0 ? [['none']] : model.results.map(resinfoWords);
  // Every resinfo but the last ends in the ";" that introduces the next one.
  groups.forEach((words, index) => {
    if (index < groups.length - 1) words[words.length - 1] += ';';
  });
  const lines: string[] = [];
  let line = head;
  for (const words of groups) {
    const text = words.join(' ');
    if (line.length + 1 + text.length <= MAX_LINE_LENGTH) {
      line += ` ${text}`;
      continue;
    }
    lines.push(line);
    line = '';
    for (const word of words) {
      if (line !== '' && line.length + 1 + word.length > MAX_LINE_LENGTH) {
        lines.push(line);
        line = '';
      }
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** The words of one resinfo: methodspec, its comment (split at spaces), reason, properties. */
function resinfoWords(r: AuthResult): string[] {
  const words = [`${r.method}${r.methodVersion === undefined ? '' : `/${r.methodVersion}`}=${r.result}`];
  if (r.comment !== undefined) words.push(...formatComment(r.comment).split(/ (?=\S)/));
  if (r.reason !== undefined) words.push(`reason=${TOKEN.test(r.reason) ? r.reason : quote(r.reason)}`); // a `value`
  words.push(...r.properties.map(formatProperty));
  return words;
}

function formatProperty(p: AuthProperty): string {
  return `${p.ptype === '' ? '' : `${p.ptype}.`}${p.property}=${formatValue(p.value)}`;
}

/** A pvalue: bare when it is a token or an address / @domain (RFC 8601 2.2), else quoted. */
export function formatValue(value: string): string {
  return TOKEN.test(value) || ADDRESS.test(value) ? value : quote(value);
}

/** RFC 5322 3.2.4 quoted-string; line breaks cannot be carried, so they become spaces. */
function quote(value: string): string {
  return `"${value.replace(/[\r\n]+/g, ' ').replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 5322 3.2.2 comment, every parenthesis and backslash escaped as a quoted-pair. */
function formatComment(text: string): string {
  return `(${text.replace(/[\r\n]+/g, ' ').replace(/[()\\]/g, '\\$&')})`;
}
