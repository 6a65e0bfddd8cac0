import test from 'ava';
import { stripVTControlCharacters } from 'node:util';
import { seg } from '../../src/ui/top/lines.js';
import { END_INTENSITY, lineToSgr, SGR_CODES } from '../../src/ui/top/sgr.js';

test('plain segments are written as they are', (t) => {
  t.is(lineToSgr([seg('Domain-0 '), seg('-----r')], true), 'Domain-0 -----r');
  t.is(lineToSgr([], true), '');
});

test('each styled segment opens its styles and closes them with their own reset codes, as chalk writes them', (t) => {
  t.is(lineToSgr([seg('hot', { color: 'red' }), seg(' '), seg('idle', { color: 'gray', dim: true })], true), '\x1b[31mhot\x1b[39m \x1b[2m\x1b[90midle\x1b[39m\x1b[22m');
  t.is(lineToSgr([seg('NAME', { bold: true, inverse: true })], true), '\x1b[1m\x1b[7mNAME\x1b[27m\x1b[22m');
  t.is(lineToSgr([seg('x', { bold: true, color: 'cyan' })], true), '\x1b[1m\x1b[36mx\x1b[39m\x1b[22m');
});

test('the SGR table ink-cells reads is chalk\'s own', (t) => {
  t.deepEqual(SGR_CODES.slice(0, 3), [[1, 22], [2, 22], [7, 27]]);
  t.deepEqual(new Set(SGR_CODES.slice(3).map(([, end]) => end)), new Set([39]));
  t.is(END_INTENSITY, 22);
});

test('without colour: colours and faint go, bold and inverse stay', (t) => {
  const line = [seg('a', { color: 'green' }), seg('b', { color: 'gray', dim: true }), seg('c', { bold: true, inverse: true, color: 'yellow' })];
  t.is(lineToSgr(line, false), 'ab\x1b[1m\x1b[7mc\x1b[27m\x1b[22m');
  t.is(stripVTControlCharacters(lineToSgr(line, true)), 'abc');
});

test('control characters in a text are shown as "?", one for one: nothing reaches the terminal as an escape', (t) => {
  t.is(lineToSgr([seg('a\x1b[2Jb\x07c\x9b31md\x7f')], true), 'a?[2Jb?c?31md?');
  t.is(lineToSgr([seg('\x1b]0;title\x07', { bold: true })], false), '\x1b[1m?]0;title?\x1b[22m');
});
