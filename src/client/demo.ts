import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { xlCreate, xlDestroy, xlList, xlShutdown, type XlContext } from '../compat/xl-commands.js';
import type { StatePaths } from '../state/state-dir.js';
import { renderLsOutput } from '../ui/xenstore-render.js';
import { lsTree } from './xenstore-tools.js';
import type { XsClient } from '../protocol/xs-client.js';

export interface DemoContext {
  started: boolean;
  paths: StatePaths;
}

/**
 * The guided tour behind `xenemu demo`: what a toolstack does with XenStore when it
 * builds a domain, done against the live host, each step printed with its result.
 * The first half works on a subtree under /demo shaped like libxl's, so that each step
 * (watch, transaction, permissions, control/shutdown) shows alone, without a guest
 * answering; runDomainDemo then builds real domains.
 */
export async function runDemo(xs: XsClient, ctx: DemoContext, say: (line: string) => void): Promise<void> {
  const home = '/demo/local/domain/7';
  say(ctx.started ? `started the xenemu host in ${ctx.paths.home}` : `using the running xenemu host in ${ctx.paths.home}`);
  await xs.rm('/demo').catch(() => {});

  say('\n1. A watch on the new domain\'s home, as a toolstack or a backend would set one');
  const events: string[] = [];
  await xs.watch(home, 'demo', (e) => events.push(e.path));

  say('2. One transaction writes the domain skeleton (libxl retries it on EAGAIN)');
  await xs.transaction(async (tx) => {
    // The home first, readable by the guest: the nodes below inherit its permissions.
    await xs.mkdir(home, tx);
    await xs.setPerms(home, ['n0', 'r7'], tx);
    await xs.write(`${home}/name`, 'demo-guest', tx);
    await xs.write(`${home}/domid`, '7', tx);
    await xs.write(`${home}/memory/static-max`, '524288', tx);
    await xs.write(`${home}/memory/target`, '524288', tx);
    await xs.write(`${home}/cpu/0/availability`, 'online', tx);
    await xs.write(`${home}/control/shutdown`, '', tx);
    await xs.setPerms(`${home}/control/shutdown`, ['n7'], tx);
  });
  // A round trip after the commit: every event of the commit has arrived by then.
  await xs.read(`${home}/name`);
  say(`   watch events, fired at commit, one per operation:\n${events.map((p) => `     ${p}`).join('\n')}`);

  say('3. The tree, as `xenstore-ls -f -p` prints it (the guest may read its home, and write control/shutdown)');
  const tree = renderLsOutput(await lsTree(xs, [home], true), { flat: true, perms: true, ttyColumns: undefined });
  say(tree.stdout.trimEnd().replace(/^/gm, '   '));

  say('4. The toolstack asks the guest to power off; a guest agent would answer by writing "" back');
  await xs.write(`${home}/control/shutdown`, 'poweroff');
  say(`   ${home}/control/shutdown = "${(await xs.read(`${home}/control/shutdown`)).toString()}"`);

  const quota = await xs.control(['quota', '0']);
  say(`5. xenstored's own view: ${quota}`);

  say('\nTry the real tools against the same store:');
  say('  eval "$(xenemu env)"');
  say(`  xenstore-ls -f ${home}`);
  say(`  xenstore-watch -n 3 ${home}   # then, in another shell: xenemu xenstore write ${home}/name renamed`);
}

/** The sample configs: configs/ of the package, from the sources (src/client) or the build (dist/src/client). */
export function configsDir(): string {
  for (const rel of ['../../configs/', '../../../configs/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}web.yaml`)) return dir;
  }
  throw new Error('cannot find configs/web.yaml next to the xenemu sources');
}

/** The demo's domains: the sample configs under names of their own, so the user's web and db are left alone. */
export const DEMO_DOMAINS = [
  { name: 'demo-web', file: 'web.yaml', overrides: ['name="demo-web"'] },
  // db.yaml fixes its uuid; the demo's copy gets another, so both can run side by side.
  { name: 'demo-db', file: 'db.yaml', overrides: ['name="demo-db"', 'uuid="de30db00-0000-4000-8000-000000000001"'] },
] as const;

/**
 * The second half of `xenemu demo`: real domains from configs/, through the same code
 * as `xenemu create`, `list` and `shutdown` (and the xl shim). Idempotent: the demo's
 * domains from an earlier run are destroyed first.
 */
export async function runDomainDemo(ctx: XlContext, say: (line: string) => void): Promise<void> {
  const indent = (text: string): string => text.trimEnd().replace(/^/gm, '   ');
  const client = await ctx.client();
  for (const d of DEMO_DOMAINS) {
    const existing = (await client.list()).find((r) => r.name === d.name);
    if (existing !== undefined) await xlDestroy(ctx, { domain: String(existing.domid), force: false });
  }
  const dir = configsDir();

  say('\n6. Domains from the sample configs, as `xenemu create` (or `xl create`) builds them: memory, vCPUs,');
  say('   the XenStore layout, the introduction to xenstored; then the guest kernel boots');
  for (const d of DEMO_DOMAINS) {
    say(`   $ xenemu create configs/${d.file} ${d.overrides.map((o) => `'${o}'`).join(' ')}`);
    await xlCreate(ctx, { file: `${dir}${d.file}`, overrides: d.overrides, paused: false, dryRun: false, quiet: false, debug: false });
  }

  say('7. `xenemu list`, byte for byte what xl list prints');
  say(indent((await xlList(ctx, { domains: [], long: false, verbose: false, context: false, cpupool: false, numa: false })).stdout));

  say('8. `xenemu shutdown -w demo-web`: the guest acknowledges, powers off, and its on_poweroff (destroy) removes it');
  await xlShutdown(ctx, { reboot: false, all: false, wait: true, domain: 'demo-web' });
  // -w returns once the guest has shut down; the destroy follows at once in the daemon.
  for (let i = 0; i < 1000 && (await client.list()).some((r) => r.name === 'demo-web'); i++) await new Promise((r) => setTimeout(r, 10));
  say(indent((await xlList(ctx, { domains: [], long: false, verbose: false, context: false, cpupool: false, numa: false })).stdout));
}
