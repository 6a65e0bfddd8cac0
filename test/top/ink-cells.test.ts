import test from 'ava';
import fc from 'fast-check';
import { styledChars } from '../../src/ui/top/ink-cells.js';
import { inkOutputUrl } from '../../src/ui/top/ink-line-cache.js';
import type { Color, Seg } from '../../src/ui/top/lines.js';
import { lineToSgr } from '../../src/ui/top/sgr.js';

// The fast reader must give exactly the cells Ink's own tokenizer gives (this process
// never installs the line cache, so Output's getStyledChars is Ink's), and give up on
// anything it does not know rather than guess.

type GetStyledChars = (line: string) => unknown;

async function inkStyledChars(): Promise<GetStyledChars> {
  const { default: Output } = (await import(inkOutputUrl())) as {
    default: new (o: { width: number; height: number }) => { caches: { getStyledChars: GetStyledChars } };
  };
  return (line) => new Output({ width: 1, height: 1 }).caches.getStyledChars(line);
}

const COLORS: Color[] = ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'gray', 'white'];
const CHARS = [...' azAZ09.,:;()[]{}<>/%+-=_|#*!?~', 'µ', '·', '…', '↑', '↓', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█', '░', '▒', '▓', '─', '│'];

const segment: fc.Arbitrary<Seg> = fc.record(
  {
    text: fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((cs) => cs.join('')),
    color: fc.constantFrom(...COLORS),
    bold: fc.boolean(),
    dim: fc.boolean(),
    inverse: fc.boolean(),
  },
  { requiredKeys: ['text'] },
);

test('the lines the dashboard writes: the same cells as Ink, with and without colour', async (t) => {
  const ink = await inkStyledChars();
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 12 }), fc.boolean(), (segs, color) => {
      const line = lineToSgr(segs, color);
      t.deepEqual(styledChars(line), ink(line), JSON.stringify(line));
    }),
    { numRuns: 500 },
  );
});

test('codes written by hand: compound, reset, repeats, ends without starts', async (t) => {
  const ink = await inkStyledChars();
  for (const line of ['\x1b[1;2;7;31mab\x1b[0mc', '\x1b[31m\x1b[32mx\x1b[39my', '\x1b[1m\x1b[1mb\x1b[22m', '\x1b[27;39mz', '\x1b[2m\x1b[1mq\x1b[22mr', '']) {
    t.deepEqual(styledChars(line), ink(line), JSON.stringify(line));
  }
});

test('anything else is left to Ink: other codes and escapes, wide, combining and astral characters', (t) => {
  for (const line of ['\x1b[38;5;12mx', '\x1b[4mu', '\x1b[mx', '\x1b[01mx', '\x1b[2J', '\x1b]8;;http://x\x07a', '\x1b[31', '漢', 'e\u0301', '😀', '\x9b31m', '\t']) {
    t.is(styledChars(line), null, JSON.stringify(line));
  }
});
