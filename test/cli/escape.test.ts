import test from 'ava';
import fc from 'fast-check';
import { escapeValue, unescapeValue } from '../../src/ui/xenstore-escape.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);
const unescape = (spec: string): Buffer => unescapeValue(Buffer.from(spec, 'latin1'));

// Rows from golden/README.md and from the real xenstore-read (fixtures 32).
const escapeRows: Array<[string, Buffer, string]> = [
  ['printable ASCII is kept', Buffer.from('guest one'), 'guest one'],
  ['double quotes are not escaped', Buffer.from('say "hi"'), 'say "hi"'],
  ['a backslash doubles', Buffer.from('a\\b'), 'a\\\\b'],
  ['tab, newline and CR get letters', Buffer.from('\t\n\r'), '\\t\\n\\r'],
  ['bytes below 8 are 3-digit octal', bytes(0, 1, 7), '\\000\\001\\007'],
  ['8 and the other controls are \\xHH', bytes(8, 0x0b, 0x0c, 0x1f), '\\x08\\x0b\\x0c\\x1f'],
  ['DEL and high bytes are lowercase \\xHH', bytes(0x7f, 0x80, 0xff), '\\x7f\\x80\\xff'],
  ['UTF-8 is bytes like any other', Buffer.from('é'), '\\xc3\\xa9'],
  ['empty stays empty', bytes(), ''],
];
for (const [name, input, output] of escapeRows) {
  test(`escape: ${name}`, (t) => t.is(escapeValue(input), output));
}

// What the real xenstore-write stored for each spec (read back with -R | od).
const unescapeRows: Array<[string, string, Buffer]> = [
  ['letters \\t \\n \\r \\\\', 'a\\tb\\nc\\rd\\\\e', Buffer.from('a\tb\nc\rd\\e')],
  ['\\xHH, either case', '\\x41\\xff\\xFf', bytes(0x41, 0xff, 0xff)],
  ['octal takes up to 3 digits', '\\101\\0\\00\\0000\\1234', Buffer.from('A\0\0\x000S4', 'latin1')],
  ['octal wraps to a byte', '\\400\\777', bytes(0, 0xff)],
  ['8 and 9 are not octal', '\\8\\9', Buffer.from('89')],
  ['other backslashes drop', '\\q\\a\\b\\"\\?', Buffer.from('qab"?')],
  ['\\x that matches nothing keeps the x', '\\xZZ\\x-g\\x+', Buffer.from('xZZx-gx+')],
  ['\\x skips blanks', '\\x 41\\x\t4\\x  41', bytes(0x41, 0x04, 0x41)],
  ['\\x takes a sign', '\\x-1\\x+4\\x-f', bytes(0xff, 0x04, 0xf1)],
  ['\\x reads "0x" as 0 and stops', '\\x0x41', Buffer.from('\x0041', 'latin1')],
  ['\\x with one digit', '\\x4g\\x0', Buffer.from('\x04g\x00', 'latin1')],
  ['\\x at the end is x', 'a\\x', Buffer.from('ax')],
  ['a final backslash adds a NUL', 'a\\', bytes(0x61, 0)],
  ['the string ends at a NUL', 'a\0b', Buffer.from('a')],
];
for (const [name, spec, value] of unescapeRows) {
  test(`unescape: ${name}`, (t) => t.deepEqual(unescape(spec), value));
}

test('unescape inverts escape for every byte string', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const back = unescapeValue(Buffer.from(escapeValue(b), 'latin1'));
      return back.equals(Buffer.from(b));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('escape prints only printable ASCII, one line', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => /^[\x20-\x7e]*$/.test(escapeValue(b))),
    { numRuns: 1000 },
  );
  t.pass();
});

test('a spec without backslashes is written as it is', (t) => {
  const noBackslash = fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => Buffer.from(b.filter((c) => c !== 0x5c && c !== 0)));
  fc.assert(
    fc.property(noBackslash, (spec) => unescapeValue(spec).equals(spec)),
    { numRuns: 1000 },
  );
  t.pass();
});
