import { describe, expect, it } from 'vitest';
import { createMessageScanner, type ScannerLimits } from '../../../src/message/scanner.js';

const limits: ScannerLimits = { lineLength: 20, headerBytes: 200, headerFields: 5, rejectBareNewline: true };

function scan(input: string | string[], l: ScannerLimits = limits) {
  const s = createMessageScanner(l);
  for (const chunk of Array.isArray(input) ? input : [input]) s.push(Buffer.from(chunk, 'latin1'));
  return s.end();
}

describe('message scanner', () => {
  const table: Array<[string, string | string[], string | null]> = [
    ['a clean message', 'A: 1\r\nB: 2\r\n\r\nbody\r\n', null],
    ['CRLF split across chunks', ['A: 1\r', '\nB: 2\r\n\r', '\nbody\r\n'], null],
    ['a bare LF in the body', 'A: 1\r\n\r\nbody\nmore\r\n', 'KGM-MSG-BARE-NEWLINE'],
    ['a bare CR in the body', 'A: 1\r\n\r\nbody\rmore\r\n', 'KGM-MSG-BARE-NEWLINE'],
    ['<LF>.<LF> (SMTP smuggling)', 'A: 1\r\n\r\nx\n.\nMAIL FROM:<a@b>\r\n', 'KGM-MSG-BARE-NEWLINE'],
    ['<CR>.<CR> (SMTP smuggling)', 'A: 1\r\n\r\nx\r.\rMAIL FROM:<a@b>\r\n', 'KGM-MSG-BARE-NEWLINE'],
    ['<LF>.<CR><LF> (SMTP smuggling)', 'A: 1\r\n\r\nx\n.\r\nRSET\r\n', 'KGM-MSG-BARE-NEWLINE'],
    ['a CR at the very end', 'A: 1\r\n\r\nx\r', 'KGM-MSG-BARE-NEWLINE'],
    ['a line of exactly the limit', 'A: 1\r\n\r\n' + 'x'.repeat(20) + '\r\n', null],
    ['a line one byte over the limit', 'A: 1\r\n\r\n' + 'x'.repeat(21) + '\r\n', 'KGM-MSG-LINE-TOO-LONG'],
    ['too many header fields', 'A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n\r\n', 'KGM-MSG-HEADER-TOO-BIG'],
    ['folded lines are not new fields', 'A: 1\r\n 2\r\n\t3\r\n 4\r\n 5\r\n 6\r\nB: 1\r\n\r\n', null],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => {
      expect(scan(input).violation).toBe(expected);
    });
  }

  it('counts header bytes up to the empty line, not the body', () => {
    const r = scan('A: 1\r\n\r\n' + 'body line\r\n'.repeat(100), { ...limits, lineLength: 1000 });
    expect(r.violation).toBeNull();
    expect(r.headerBytes).toBe(8);
    expect(r.headerFields).toBe(1);
  });

  it('refuses a header section larger than header_bytes', () => {
    const many = 'X: ' + 'a'.repeat(15) + '\r\n';
    const r = scan(many.repeat(20) + '\r\nbody\r\n', { ...limits, headerFields: 1000 });
    expect(r.violation).toBe('KGM-MSG-HEADER-TOO-BIG');
  });

  it('keeps bare newlines inside the message when told to accept them', () => {
    const r = scan('A: 1\r\n\r\nx\n.\nMAIL FROM:<a@b>\r\n', { ...limits, rejectBareNewline: false });
    expect(r.violation).toBeNull();
  });

  it('counts every byte even after a violation', () => {
    const r = scan(['A: 1\r\n\r\nx\ny', 'zzzz\r\n']);
    expect(r.bytes).toBe(17);
  });
});
