/**
 * `npm run bench -- NAME [ARGS...]` runs bench/NAME.ts with ARGS (after building dist/,
 * which several benchmarks load); without a name it lists the benchmarks, each with the
 * first sentence of its description. BENCHMARKS.md has each one's command and results.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => basename(f, '.ts'))
  .sort();

/** The first sentence of a benchmark's leading doc comment, cut to fit a line. */
function summary(name: string): string {
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(readFileSync(`${here}${name}.ts`, 'utf8'))?.[1] ?? '';
  const text = doc.replace(/\n\s*\*\s?/g, ' ').trim();
  const sentence = /^.*?\.(?=\s|$)/.exec(text)?.[0] ?? text;
  return sentence.length > 90 ? `${sentence.slice(0, 89)}…` : sentence;
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  console.log('usage: npm run bench -- NAME [ARGS...]\n');
  for (const b of benches) console.log(`  ${b.padEnd(16)} ${summary(b)}`);
  process.exit(0);
}
if (!benches.includes(name)) {
  console.error(`bench: no benchmark "${name}"; one of: ${benches.join(', ')}`);
  process.exit(2);
}
const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, ['--import=tsx', `${here}${name}.ts`, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
