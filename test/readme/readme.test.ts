/**
 * The README is true when followed literally: every ```sh block runs, in order, on a
 * fresh state dir, with `xenemu` resolving to this checkout, and every command in it
 * succeeds; where a plain ``` block after it shows `$ COMMAND` and its output, the
 * command is run and the stable parts of its output compared. A block preceded by
 * `<!-- not run -->` (installing, the test suite itself, development, benchmarks,
 * the interactive dashboard) is skipped. Uses dist/: `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { SYSTEM_PYTHON } from '../helpers/run.js';

const REPO = new URL('../..', import.meta.url).pathname;
const NOT_RUN = '<!-- not run -->';

type Step =
  | { kind: 'sh'; line: number; code: string }
  | { kind: 'output'; line: number; command: string; expected: string[] };

/** The README's runnable shell blocks and shown outputs, in order. */
export function readmeSteps(text: string): Step[] {
  const lines = text.split('\n');
  const steps: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)$/.exec(lines[i]!);
    if (fence === null) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    const body = lines.slice(start + 1, end);
    const marked = lines.slice(0, start).reverse().find((l) => l.trim() !== '') === NOT_RUN;
    if (fence[1] === 'sh' && !marked) steps.push({ kind: 'sh', line: start + 1, code: body.join('\n') });
    else if (fence[1] === '' && body[0]?.startsWith('$ ') === true && !marked) {
      steps.push({ kind: 'output', line: start + 1, command: body[0].slice(2), expected: body.slice(1) });
    }
    i = end;
  }
  return steps;
}

/** The names in the README's state-dir table (`| file | what |`), directories without their slash. */
export function stateDirTable(text: string): Set<string> {
  const start = text.indexOf('| file | what |');
  const rows = text.slice(start).split('\n').slice(2);
  const names = new Set<string>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const cell = row.split('|')[1] ?? '';
    for (const m of cell.matchAll(/`([^`]+)`/g)) names.add(m[1]!.replace(/\/$/, ''));
  }
  return names;
}

/** The parts of a shown output that do not depend on timing. */
function stableParts(command: string, out: string[]): string[] {
  const rows = out.filter((l) => l.trim() !== '');
  if (/^xenemu list\b/.test(command)) {
    // Name, ID, Mem, VCPUs; state and time vary.
    return rows.map((l) => l.split(/\s+/).slice(0, 4).join(' '));
  }
  if (/^xenemu interrupts\b/.test(command)) {
    // The row names (sources, per vCPU) and the number of columns; counts and rates vary,
    // and so does the padding that follows their widths (a count of five digits widens a column).
    // A secondary vCPU's timer row is there only if that vCPU came up before the example's
    // `vcpu-set` took it offline: the guest boots after `reboot -w` returns, so on a loaded
    // machine it may not have.
    return rows
      .filter((l) => !/^irq\d+: cpu[1-9]\d*:timer\b/.test(l))
      .map((l) => `${l.replace(/(\s+[\d.]+)+\s*$/, '').replace(/\s+/g, ' ')} [${l.trim().split(/\s+/).length}]`);
  }
  return rows;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: err !== null && err.killed ? `${stderr}\n(killed after 30 s)` : stderr });
    });
  });
}

test('every README example runs, in order, on a fresh state dir', async (t) => {
  t.timeout(120_000);
  t.true(existsSync(join(REPO, 'dist/commands')), 'npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'xenemu-readme-'));
  const home = join(dir, 'home');
  const work = join(dir, 'work');
  const shims = join(dir, 'bin');
  mkdirSync(work);
  mkdirSync(shims);
  // The examples name configs/ relative to a checkout; anything they write stays in the temp dir.
  symlinkSync(join(REPO, 'configs'), join(work, 'configs'));
  const shim = (name: string, target: string) => {
    writeFileSync(join(shims, name), `#!/bin/sh\nexec ${target} "$@"\n`);
    chmodSync(join(shims, name), 0o755);
  };
  shim('xenemu', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO, 'bin/run.js'))}`);
  // Debian's python has pyxs; a pyenv python earlier on PATH may not.
  if (existsSync(SYSTEM_PYTHON)) shim('python3', SYSTEM_PYTHON);
  const env: NodeJS.ProcessEnv = { ...process.env, XENEMU_HOME: home, PATH: `${shims}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  t.teardown(async () => {
    await bash('xenemu host stop', work, env);
    rmSync(dir, { recursive: true, force: true });
  });

  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const steps = readmeSteps(readme);
  t.true(steps.some((s) => s.kind === 'output'));
  for (const step of steps) {
    if (step.kind === 'sh') {
      const r = await bash(step.code, work, env);
      t.is(r.code, 0, `README.md:${step.line}: the block failed\n${step.code}\n--- stderr:\n${r.stderr}`);
      if (r.code !== 0) return;
    } else {
      const r = await bash(step.command, work, env);
      t.is(r.code, 0, `README.md:${step.line}: ${step.command}\n${r.stderr}`);
      t.deepEqual(stableParts(step.command, r.stdout.split('\n')), stableParts(step.command, step.expected), `README.md:${step.line}: ${step.command}\n${r.stdout}`);
    }
  }
  // Everything the examples left in the state dir is in its table (SQLite's -shm/-wal
  // files go with state.db, "SQLite (WAL)").
  const table = stateDirTable(readme);
  const unlisted = readdirSync(home).filter((f) => !table.has(f) && !table.has(f.replace(/-(shm|wal)$/, '')));
  t.deepEqual(unlisted, [], 'files in $XENEMU_HOME that the README\'s state-dir table leaves out');
});
