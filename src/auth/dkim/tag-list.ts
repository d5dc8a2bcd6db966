/**
 * The tag=value list shared by DKIM-Signature fields and key records (RFC 6376 3.2).
 *
 * ```abnf
 * tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 * tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 * tag-name  =  ALPHA *ALNUMPUNC          ; ALNUMPUNC = ALPHA / DIGIT / "_"
 * tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 * tval      =  1*VALCHAR                 ; VALCHAR = %x21-3A / %x3C-7E
 * ```
 */

export type TagListParse =
  | { ok: true; tags: Map<string, string> }
  | { ok: false; reason: string };

/** tag-name = ALPHA *ALNUMPUNC (a loop: this runs a dozen times per signature). */
function isTagName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i) | 0x20; // fold ASCII letters to lower case
    const alpha = c >= 0x61 && c <= 0x7a;
    const code = name.charCodeAt(i);
    if (!(alpha || (i > 0 && ((code >= 0x30 && code <= 0x39) || code === 0x5f)))) return false;
  }
  return true;
}

/** Strips SP, HTAB, CR and LF at both ends (never `trim()`: latin1 0xA0 is a byte, not space). */
export function trimFws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isFws(s.charCodeAt(start))) start++;
  while (end > start && isFws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function isFws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Parses a tag-list. Values keep their inner whitespace (callers strip it where the tag's grammar
 * allows FWS, e.g. base64). A duplicate tag makes the whole list invalid (RFC 6376 3.2); empty
 * segments (";;") are tolerated, as most verifiers do. Values are checked by the code that knows
 * the tag: unknown tags are ignored whatever they hold (RFC 6376 3.2, 3.6.1).
 */
export function parseTagList(text: string): TagListParse {
  const tags = new Map<string, string>();
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf(';', pos);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', pos);
    if (eq < 0 || eq > end) {
      const part = trimFws(text.slice(pos, end));
      if (part !== '') return { ok: false, reason: `"${part.slice(0, 40)}" is not a tag=value pair` };
    } else {
      const name = trimFws(text.slice(pos, eq));
      if (!isTagName(name)) return { ok: false, reason: `"${name.slice(0, 40)}" is not a valid tag name` };
      if (tags.has(name)) return { ok: false, reason: `the ${name}= tag appears twice` };
      tags.set(name, trimFws(text.slice(eq + 1, end)));
    }
    pos = end + 1;
  }
  return { ok: true, tags };
}

/** Removes every SP, HTAB, CR and LF (the FWS that RFC 6376 allows inside base64 and lists). */
export function stripFws(s: string): string {
  return s.replace(/[ \t\r\n]+/g, '');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether a value is base64 once FWS is removed (RFC 6376 2.4). */
export function isBase64(value: string): boolean {
  const s = stripFws(value);
  return BASE64.test(s) && s.length % 4 !== 1;
}

/** Decodes base64 after removing FWS (RFC 6376 2.4); undefined if it is not base64. */
export function decodeBase64(value: string): Buffer | undefined {
  return isBase64(value) ? Buffer.from(stripFws(value), 'base64') : undefined;
}
