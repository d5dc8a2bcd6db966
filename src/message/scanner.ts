/**
 * Checks a message as it streams in, without buffering it: line endings, line length, header
 * size and field count. Pure: feed it chunks, ask for the first violation.
 *
 * Bare CR and bare LF matter beyond tidiness: SMTP smuggling (2023) relies on receivers that
 * read "<LF>.<LF>" or "<CR>.<CR>" as end of DATA. smtp-server ends DATA only on CRLF.CRLF, so
 * such bytes could at worst stay inside one message; by default Kagami refuses them outright, as
 * Postfix 3.9 does (smtpd_forbid_bare_newline).
 */
import type { ErrorCode } from '../core/errors.js';

export interface ScannerLimits {
  lineLength: number;
  headerBytes: number;
  headerFields: number;
  rejectBareNewline: boolean;
}

export interface ScanSummary {
  /** The first limit broken, or null. */
  violation: ErrorCode | null;
  /** Bytes of the header section including the empty line that ends it. */
  headerBytes: number;
  headerFields: number;
  bytes: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

export interface MessageScanner {
  push(chunk: Uint8Array): void;
  /** Call once at end of DATA. */
  end(): ScanSummary;
  /** The first violation seen so far (lets the caller stop writing early). */
  readonly violation: ErrorCode | null;
}

export function createMessageScanner(limits: ScannerLimits): MessageScanner {
  let violation: ErrorCode | null = null;
  let prevCR = false;
  let lineLength = 0;
  let atLineStart = true;
  let inHeader = true;
  let headerBytes = 0;
  let headerFields = 0;
  let bytes = 0;

  function fail(code: ErrorCode): void {
    if (violation === null) violation = code;
  }

  function endOfLine(): void {
    if (inHeader && lineLength === 0) inHeader = false; // the empty line ends the header section
    lineLength = 0;
    atLineStart = true;
  }

  function push(chunk: Uint8Array): void {
    bytes += chunk.length;
    if (violation !== null) return;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inHeader) {
        headerBytes++;
        if (headerBytes > limits.headerBytes) fail('KGM-MSG-HEADER-TOO-BIG');
      }
      if (prevCR) {
        prevCR = false;
        if (c === LF) {
          endOfLine();
          continue;
        }
        // A CR not followed by LF: a bare CR. Counted as content if accepted.
        if (limits.rejectBareNewline) fail('KGM-MSG-BARE-NEWLINE');
        lineLength++;
      }
      if (c === CR) {
        prevCR = true;
        continue;
      }
      if (c === LF) {
        if (limits.rejectBareNewline) fail('KGM-MSG-BARE-NEWLINE');
        endOfLine();
        continue;
      }
      if (atLineStart) {
        atLineStart = false;
        if (inHeader && c !== SP && c !== HT) {
          headerFields++;
          if (headerFields > limits.headerFields) fail('KGM-MSG-HEADER-TOO-BIG');
        }
      }
      lineLength++;
      if (lineLength > limits.lineLength) fail('KGM-MSG-LINE-TOO-LONG');
      if (violation !== null) return;
    }
  }

  function end(): ScanSummary {
    // A trailing CR just before the terminating CRLF.CRLF cannot happen (the terminator's own
    // CRLF ends the last line), so a pending CR here is a bare CR.
    if (prevCR && limits.rejectBareNewline) fail('KGM-MSG-BARE-NEWLINE');
    return { violation, headerBytes, headerFields, bytes };
  }

  return {
    push,
    end,
    get violation() {
      return violation;
    },
  };
}
