import test from 'ava';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reachDaemon } from '../../src/client/daemon.js';
import { DomainClient } from '../../src/client/domains.js';
import type { DomainIntrStats } from '../../src/protocol/evtchn-rpc.js';
import type { StatePaths } from '../../src/state/state-dir.js';
import { connectXsClient } from '../../src/client/xs-socket.js';
import { startHost, tempHome } from '../helpers/daemon.js';
import { until, yamlConfig } from '../helpers/machine.js';

// A daemon restart is not a reboot: `host stop` suspends every guest into
// images/<domid>.xl and `host start` resumes them from there, the same domains;
// after a kill -9 each comes back from its last periodic checkpoint.

const count = (lines: readonly string[], text: string): number => lines.filter((l) => l.includes(text)).length;

/** What `xenemu interrupts` shows of a domain's VIRQs and IPIs: each row's name and vCPU (the ports are new after a resume). */
async function percpuRows(paths: StatePaths, ref: string): Promise<Array<[string, number | null]>> {
  const rpc = (await reachDaemon(paths))!;
  try {
    const stats = await rpc.call<DomainIntrStats>('intr.stats', { ref });
    return stats.rows.filter((r) => r.kind === 'virq' || r.kind === 'ipi').map((r) => [r.name, r.vcpu]);
  } finally {
    rpc.close();
  }
}

test('host stop and start resume the guests where they were; a kill -9 resumes them from their last checkpoint', async (t) => {
  const home = tempHome();
  writeFileSync(join(home, 'host.yaml'), 'checkpoint_interval_ms: 1000\n');
  const host = await startHost(home);
  t.teardown(() => host.dispose());
  let dc = await DomainClient.connect(host.paths);
  t.teardown(() => dc.close());
  const { domid } = await dc.create(yamlConfig('name: g\nmemory: 64\nvcpus: 2\n'), { paused: false });
  const { domid: pid } = await dc.create(yamlConfig('name: p\nmemory: 64\n'), { paused: false });
  await until(async () => count(await dc.dmesg('g'), 'reached the idle loop') === 1 && count(await dc.dmesg('p'), 'reached the idle loop') === 1, 'both booted', 1_000_000);
  await dc.pause('p');
  const xs = await connectXsClient(host.paths.socket);
  await xs.write(`/local/domain/${domid}/data/kept`, 'yes');
  xs.close();
  const [before] = await dc.uptime(['g']);
  const intrBefore = await percpuRows(host.paths, 'g');
  t.true(intrBefore.length > 4, 'timers, IPIs and VIRQ_DEBUG on both vCPUs');

  dc.close();
  await host.stop();
  t.true(existsSync(join(home, 'images', `${domid}.xl`)), 'g saved at stop');
  t.true(existsSync(join(home, 'images', `${pid}.xl`)), 'p saved at stop, paused as it was');
  await host.restart();
  dc = await DomainClient.connect(host.paths);
  const rows = await dc.list();
  t.like(rows.find((r) => r.name === 'g'), { domid });
  t.like(rows.find((r) => r.name === 'p'), { domid: pid });
  t.true(rows.find((r) => r.name === 'p')!.stateFlags.paused, 'p is still paused');
  t.false(rows.find((r) => r.name === 'g')!.stateFlags.shutdown, 'g runs');
  const g = await dc.dmesg('g');
  t.is(count(g, 'Booting g'), 1, 'g did not boot again');
  t.is(count(g, `resumed in domain ${domid}`), 1);
  const [after] = await dc.uptime(['g']);
  t.deepEqual(await percpuRows(host.paths, 'g'), intrBefore, 'each VIRQ and IPI on the vCPU it was on');
  t.true(after!.uptimeSeconds >= before!.uptimeSeconds, 'uptime goes on');
  const xs2 = await connectXsClient(host.paths.socket);
  t.is((await xs2.read(`/local/domain/${domid}/data/kept`)).toString(), 'yes');
  xs2.close();

  // A checkpoint written after this start, then a crash: g comes back from it.
  const image = join(home, 'images', `${domid}.xl`);
  const started = statSync(image).mtimeMs;
  await until(() => statSync(image).mtimeMs > started, 'a checkpoint after the restart', 1_000_000);
  // Acknowledged after that checkpoint (the next is a second away): the store has it, the image does not.
  const xs3 = await connectXsClient(host.paths.socket);
  await xs3.write(`/local/domain/${domid}/data/late`, 'acknowledged');
  xs3.close();
  dc.close();
  await host.kill();
  await host.restart();
  dc = await DomainClient.connect(host.paths);
  const g2 = await dc.dmesg('g');
  t.is(count(g2, 'Booting g'), 1, 'g did not boot again after the crash');
  // Its log is the checkpoint's: it has the first resume, so the checkpoint was taken after the restart.
  t.is(count(g2, `resumed in domain ${domid}`), 2, 'it came back from a checkpoint taken after the first restart');
  t.is(count(g2, 'PM: freeze of devices complete'), 1, 'only the stop suspended it: the checkpoints left no line');
  const xs4 = await connectXsClient(host.paths.socket);
  t.is((await xs4.read(`/local/domain/${domid}/data/late`)).toString(), 'acknowledged', 'a write acknowledged after the checkpoint is not lost');
  t.deepEqual(await xs4.getPerms(`/local/domain/${domid}/data/late`), [`n${domid}`], 'owned by the guest as it was');
  xs4.close();
  t.true((await dc.list()).find((r) => r.name === 'p')!.stateFlags.paused, 'p still paused');
  await dc.unpause('p');
  await until(async () => count(await dc.dmesg('p'), `resumed in domain ${pid}`) === 1, 'p resumes once unpaused', 1_000_000);
  t.is(count(await dc.dmesg('p'), 'Booting p'), 1);
});
