import test from 'ava';
import { inkOutputUrl, installInkLineCache } from '../../src/ui/top/ink-line-cache.js';

// The cache reaches into Ink's Output (not Ink's API). These tests hold the Ink we pin
// to the shape it relies on, and show that frames come out as they would without it.

interface Output {
  caches: { getStyledChars(line: string): unknown };
  write(x: number, y: number, text: string, options: { transformers: Array<(s: string, i: number) => string> }): void;
  get(): { output: string; height: number };
}
type OutputClass = new (options: { width: number; height: number }) => Output;

async function outputClass(): Promise<OutputClass> {
  return ((await import(inkOutputUrl())) as { default: OutputClass }).default;
}

function frame(Output: OutputClass, lines: string[]): string {
  const o = new Output({ width: 20, height: lines.length });
  lines.forEach((line, y) => o.write(0, y, line, { transformers: [] }));
  return o.get().output;
}

test.serial('the pinned Ink has the shape the cache needs, and it installs once', async (t) => {
  t.true(await installInkLineCache());
  t.is(installInkLineCache(), installInkLineCache());
});

test.serial("a line drawn in the last frame reuses that frame's cells; one not drawn since is let go", async (t) => {
  await installInkLineCache();
  const Output = await outputClass();
  const cells = (line: string) => new Output({ width: 20, height: 1 }).caches.getStyledChars(line);

  frame(Output, ['kept', 'dropped']);
  const kept = cells('kept');
  const dropped = cells('dropped');
  t.true(Array.isArray(kept));
  frame(Output, ['kept']);
  t.is(cells('kept'), kept, 'the previous frame drew it');
  frame(Output, ['kept']);
  t.is(cells('kept'), kept);
  t.not(cells('dropped'), dropped, 'two frames without it: computed again');
  t.deepEqual(cells('dropped'), dropped);
});

test.serial('frames come out right through the cache: styles, changed lines, a frame drawn again', async (t) => {
  await installInkLineCache();
  const Output = await outputClass();
  const a = ['\x1b[1mNAME\x1b[22m  STATE', '\x1b[7m> Domain-0\x1b[27m', '\x1b[31m██\x1b[39m\x1b[90m··\x1b[39m'];
  const b = [a[0]!, 'web', '\x1b[33m▓▓\x1b[39m\x1b[90m··\x1b[39m'];
  const first = frame(Output, a);
  // As Ink writes them: a colour followed by another needs no reset in between.
  t.is(first, '\x1b[1mNAME\x1b[22m  STATE\n\x1b[7m> Domain-0\x1b[27m\n\x1b[31m██\x1b[90m··\x1b[39m');
  t.is(frame(Output, b), '\x1b[1mNAME\x1b[22m  STATE\nweb\n\x1b[33m▓▓\x1b[90m··\x1b[39m');
  t.is(frame(Output, a), first);
});
