/**
 * Splits a message into its header fields (exact bytes, for DKIM's "simple" header
 * canonicalization, RFC 6376 3.4.1) and its body. Header text is held as latin1 strings: one
 * char per byte, so hashing them back with 'latin1' reproduces the bytes, 8-bit ones included.
 */

export interface HeaderField {
  /** The field name as written, without the WSP that may precede the colon. */
  name: string;
  /** The name lowercased, for matching (field names are case-insensitive, RFC 5322 1.2.2). */
  key: string;
  /** The whole field: name, colon, value, folding CRLFs and the final CRLF, byte for byte. */
  raw: string;
}

export interface SplitMessage {
  /** Header fields in message order (top first). */
  fields: HeaderField[];
  /** Everything after the empty line that ends the header section (empty if there is none). */
  body: Buffer;
  /** The input used bare LF line endings and was converted to CRLF first (see `splitMessage`). */
  convertedLineEndings: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * DKIM is defined over CRLF lines (RFC 6376 2.8, 3.4). Mail from SMTP has them (Kagami refuses
 * bare newlines by default); a message kept in a Unix file has LF only. If the first line ends
 * in a bare LF the whole message is read as LF-terminated and every `\r?\n` becomes CRLF, as
 * dkimpy and OpenDKIM do for such files. A CRLF message is used as it is, byte for byte.
 */
export function toCrlf(message: Buffer): { message: Buffer; converted: boolean } {
  const lf = message.indexOf(LF);
  if (lf < 0 || (lf > 0 && message[lf - 1] === CR)) return { message, converted: false };
  return { message: Buffer.from(message.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'), converted: true };
}

export function splitMessage(input: Buffer): SplitMessage {
  const { message, converted } = toCrlf(input);
  let headerEnd: number; // end of the header section, after the last field's CRLF
  let bodyStart: number;
  if (message[0] === CR && message[1] === LF) {
    headerEnd = 0;
    bodyStart = 2;
  } else {
    const blank = message.indexOf(CRLFCRLF);
    headerEnd = blank < 0 ? message.length : blank + 2;
    bodyStart = blank < 0 ? message.length : blank + 4;
  }
  return {
    fields: parseHeaderFields(message.toString('latin1', 0, headerEnd)),
    body: message.subarray(bodyStart),
    convertedLineEndings: converted,
  };
}

/** Splits a header section (latin1, CRLF lines) into fields; continuation lines start with WSP. */
export function parseHeaderFields(head: string): HeaderField[] {
  const fields: HeaderField[] = [];
  let start = -1; // start of the field being collected
  let pos = 0;
  while (pos < head.length) {
    const nl = head.indexOf('\r\n', pos);
    const c = head.charCodeAt(pos);
    if (!((c === 0x20 || c === 0x09) && start >= 0)) {
      if (start >= 0) fields.push(headerField(head.slice(start, pos)));
      start = pos;
    }
    pos = nl < 0 ? head.length : nl + 2;
  }
  if (start >= 0) fields.push(headerField(head.slice(start)));
  return fields;
}

function headerField(raw: string): HeaderField {
  // A line without a colon is not a field (RFC 5322 2.2); it keeps its bytes but matches no name.
  const colon = raw.indexOf(':');
  let end = colon < 0 ? 0 : colon;
  while (end > 0 && (raw.charCodeAt(end - 1) === 0x20 || raw.charCodeAt(end - 1) === 0x09)) end--;
  const name = raw.slice(0, end);
  return { name, key: name.toLowerCase(), raw };
}
