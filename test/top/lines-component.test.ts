import test from 'ava';
import { Box } from 'ink';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { Lines } from '../../src/ui/top/components/Lines.js';
import { seg, type Line } from '../../src/ui/top/lines.js';

const LINES: Line[] = [[seg('NAME', { bold: true, inverse: true }), seg(' web '), seg('hot', { color: 'red' })], [], [seg('second')]];

function draw(): string {
  const app = render(createElement(Box, { flexDirection: 'column' }, createElement(Lines, { lines: LINES, color: true })));
  const frame = app.lastFrame() ?? '';
  app.unmount();
  return frame;
}

test.serial('each line is written as its SGR text, one terminal row each', (t) => {
  // As Ink writes them out: compound codes one by one.
  t.is(draw(), '\x1b[1m\x1b[7mNAME\x1b[27m\x1b[22m web \x1b[31mhot\x1b[39m\n\nsecond');
});

test.serial('a screen reader (INK_SCREEN_READER=true) gets the text of every line', (t) => {
  // Ink reads the variable when a render starts.
  process.env.INK_SCREEN_READER = 'true';
  t.teardown(() => {
    delete process.env.INK_SCREEN_READER;
  });
  t.is(draw(), 'NAME web hot\n \nsecond');
});
