import type { StatePaths } from '../host/state-dir.js';
import { renderLsOutput } from '../ui/xenstore-render.js';
import { lsTree } from './xenstore-tools.js';
import type { XsClient } from './xs-client.js';

export interface DemoContext {
  started: boolean;
  paths: StatePaths;
}

/**
 * The guided tour behind `xenemu demo`: what a toolstack does with XenStore when it
 * builds a domain, done against the live host, each step printed with its result.
 * Until domains exist, the "domain" is a subtree under /demo shaped like libxl's.
 */
export async function runDemo(xs: XsClient, ctx: DemoContext, say: (line: string) => void): Promise<void> {
  const home = '/demo/local/domain/7';
  say(ctx.started ? `started the xenemu host in ${ctx.paths.home}` : `using the running xenemu host in ${ctx.paths.home}`);
  await xs.rm('/demo').catch(() => {});

  say('\n1. A watch on the new domain\'s home, as a toolstack or a backend would set one');
  const events: string[] = [];
  xs.onWatch((e) => {
    if (e.token === 'demo') events.push(e.path);
  });
  await xs.watch(home, 'demo');

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
