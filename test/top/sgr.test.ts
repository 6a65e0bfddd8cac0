import test from 'ava';
import { stripVTControlCharacters } from 'node:util';
import { seg } from '../../src/ui/top/lines.js';
import { lineToSgr } from '../../src/ui/top/sgr.js';

test('plain segments are written as they are', (t) => {
  t.is(lineToSgr([seg('Domain-0 '), seg('-----r')], true), 'Domain-0 -----r');
  t.is(lineToSgr([], true), '');
});

test('each styled segment opens its styles and closes them with their own reset codes', (t) => {
  t.is(lineToSgr([seg('hot', { color: 'red' }), seg(' '), seg('idle', { color: 'gray', dim: true })], true), '\x1b[31mhot\x1b[39m \x1b[2;90midle\x1b[39;22m');
  t.is(lineToSgr([seg('NAME', { bold: true, inverse: true })], true), '\x1b[1;7mNAME\x1b[27;22m');
  t.is(lineToSgr([seg('x', { bold: true, color: 'cyan' })], true), '\x1b[1;36mx\x1b[39;22m');
});

test('without colour: colours and faint go, bold and inverse stay', (t) => {
  const line = [seg('a', { color: 'green' }), seg('b', { color: 'gray', dim: true }), seg('c', { bold: true, inverse: true, color: 'yellow' })];
  t.is(lineToSgr(line, false), 'ab\x1b[1;7mc\x1b[27;22m');
  t.is(stripVTControlCharacters(lineToSgr(line, true)), 'abc');
});

test('control characters in a text are shown as "?", one for one: nothing reaches the terminal as an escape', (t) => {
  t.is(lineToSgr([seg('a\x1b[2Jb\x07c\x9b31md\x7f')], true), 'a?[2Jb?c?31md?');
  t.is(lineToSgr([seg('\x1b]0;title\x07', { bold: true })], false), '\x1b[1m?]0;title?\x1b[22m');
});
