/**
 * DIRECTORY_PART as libxenstore's xs_directory uses it when DIRECTORY answers E2BIG:
 * ask from offset 0, append the names, continue at the byte offset reached, stop at
 * the part that ends with an empty name, and start over if the generation changed.
 */
import test from 'ava';
import { XsType } from '../../src/protocol/xs-wire.js';
import { EngineClient, newEngine } from '../helpers/engine.js';

/** Read a whole directory through DIRECTORY_PART; returns the names and the generations seen. */
function readParts(c: EngineClient, path: string): { names: string[]; gens: string[]; parts: number } {
  let offset = 0;
  let text = '';
  const gens: string[] = [];
  for (let parts = 1; parts < 100; parts++) {
    const r = c.req(XsType.DIRECTORY_PART, `${path}\0${offset}\0`);
    if (r.type !== XsType.DIRECTORY_PART) throw new Error(`DIRECTORY_PART: ${r.payload}`);
    if (r.payload.length > 4096) throw new Error(`a ${r.payload.length}-byte part`);
    const nul = r.payload.indexOf('\0');
    gens.push(r.payload.slice(0, nul));
    let chunk = r.payload.slice(nul + 1);
    const last = chunk === '\0' || chunk.endsWith('\0\0');
    if (last) chunk = chunk.slice(0, -1);
    text += chunk;
    offset += chunk.length;
    if (last) return { names: text === '' ? [] : text.slice(0, -1).split('\0'), gens, parts };
  }
  throw new Error('DIRECTORY_PART never ended its list');
}

test('DIRECTORY_PART: a list too long for one DIRECTORY reply comes back whole, in parts', (t) => {
  const xs = newEngine();
  const c = new EngineClient(xs);
  const names = Array.from({ length: 300 }, (_, i) => `device-${String(i).padStart(4, '0')}-${'x'.repeat(20)}`);
  for (const n of names) c.ask(XsType.MKDIR, `/big/${n}\0`);
  t.is(c.ask(XsType.DIRECTORY, '/big\0'), 'ERROR:E2BIG', 'DIRECTORY cannot answer 9000 bytes');
  const got = readParts(c, '/big');
  t.deepEqual(got.names, [...names].sort());
  t.true(got.parts >= 3, `${got.parts} parts`);
  t.is(new Set(got.gens).size, 1, 'one generation while nothing changes');
  c.ask(XsType.MKDIR, '/big/zzz\0');
  const again = readParts(c, '/big');
  t.not(again.gens[0], got.gens[0], 'a new child changes the generation');
  t.is(again.names.length, 301);
  c.write('/big/zzz', 'value');
  t.is(readParts(c, '/big').gens[0], again.gens[0], 'a child\'s value does not change the parent\'s list generation');
});

test('DIRECTORY_PART: empty and small directories, transactions', (t) => {
  const xs = newEngine();
  const c = new EngineClient(xs);
  c.ask(XsType.MKDIR, '/empty\0');
  t.deepEqual(readParts(c, '/empty').names, []);
  c.write('/small/a', '');
  c.write('/small/b', '');
  t.deepEqual(readParts(c, '/small').names, ['a', 'b']);
  const tx = c.start();
  c.write('/small/c', '', tx);
  const r = c.ask(XsType.DIRECTORY_PART, '/small\x000\0', tx);
  t.regex(r, /^\d+\0a\0b\0c\0\0$/, 'inside a transaction it lists the transaction\'s view');
  t.is(c.end(tx, false), 'OK\0');
});
