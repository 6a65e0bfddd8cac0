import { Flags } from '@oclif/core';
import { ensureDaemon, reachDaemon } from '../../src/client/daemon.js';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { TypedClient } from '../../src/client/typed-client.js';
import type { HostRpc, HostStatus } from '../../src/protocol/host-rpc.js';
import { describeRecovery } from '../../src/state/last-start.js';
import { ensureStateDir } from '../../src/state/state-dir.js';
import { XEN_SCHEDULERS, type XenScheduler } from '../../src/hypervisor/host-model.js';
import { parseMemSizeKb } from '../../src/ui/xl/args.js';

export default class HostStart extends XenemuCommand {
  static override summary = 'Start the emulated host daemon (other commands start it on demand)';
  static override description = `The daemon serves the xenstored socket (the real xenstore-* tools, libxenstore and pyxs work against it), a read-only socket like xenstored's socket_ro, and the control socket of the CLI. Its state lives in $XENEMU_HOME, else $XDG_STATE_HOME/xenemu, else ~/.local/state/xenemu. Starting a running host does nothing.

--pcpus, --memory and --dom0-memory shape the emulated machine, --sched picks the scheduler Xen runs Pool-0 with (what \`sched-credit2\` or \`sched-credit\` then show and set), and --xen-init-dom0 gives dom0 the name and domid keys a booted Xen host has (without it dom0's home starts empty, as under \`xenstored --no-domain-init\`); they are recorded in the state dir's host.yaml and apply from the next start of the daemon (stop it first to change a running host). Memory is only accounted, so the machine may be far bigger than this one. Sizes take xl's suffixes (b, k, m, g, t); a bare number is MiB, as for xl mem-set.

The daemon refuses to start over a damaged store (a journal file that fails its checks with data after the damage, a journal of another store, a missing or unreadable state.db that the journal continues) and says why. --recover starts it anyway with what can be kept: the database and the journal up to the damage. Every file it cannot apply is moved aside (journal/damaged-<time>/, state.db.damaged-<time>), never deleted, and what was not applied is reported here, in the daemon log and in \`host status\`.`;
  static override examples = [
    '<%= config.bin %> host start',
    'XENEMU_HOME=/tmp/lab <%= config.bin %> host start --pcpus 16 --memory 512g --json',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    pcpus: Flags.integer({ summary: 'Physical CPUs of the emulated machine', min: 1, max: 4096 }),
    memory: Flags.string({ summary: 'Total memory of the emulated machine (e.g. 64g)' }),
    'dom0-memory': Flags.string({ summary: "dom0's memory (e.g. 2g)" }),
    recover: Flags.boolean({
      summary: 'Start over a damaged store: keep the database and the journal up to the damage, move aside what cannot be applied, and report it',
    }),
    sched: Flags.string({ summary: "The scheduler Xen boots with, as its sched= option (default: credit2, Xen 4.17's)", options: [...XEN_SCHEDULERS] }),
    'xen-init-dom0': Flags.boolean({
      summary: "Write dom0's name and domid to XenStore at start, as xencommons' xen-init-dom0 does",
      allowNo: true,
    }),
  };

  async run(): Promise<{ started: boolean; status: HostStatus }> {
    const { flags } = await this.parse(HostStart);
    const paths = this.paths;
    const mib = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      try {
        return Number(parseMemSizeKb(v) / 1024n);
      } catch {
        this.error(`--${flag}: "${v}" is not a size (a number of MiB, or with a suffix b, k, m, g, t)`, { exit: 2 });
      }
    };
    const settings = {
      pcpus: flags.pcpus,
      memory: mib('memory', flags.memory),
      dom0_memory: mib('dom0-memory', flags['dom0-memory']),
      xen_init_dom0: flags['xen-init-dom0'],
      sched: flags.sched as XenScheduler | undefined,
    };
    if (Object.values(settings).some((v) => v !== undefined)) {
      ensureStateDir(paths);
      const { writeHostConfig } = await import('../../src/state/host-config.js');
      writeHostConfig(paths.hostConfig, settings);
    }
    const started = await ensureDaemon(paths, { recover: flags.recover });
    const rpc = await reachDaemon(paths);
    if (rpc === null) this.error('the daemon started but does not answer', { exit: 1 });
    const status = await new TypedClient<HostRpc>(rpc).call('host.status', {});
    rpc.close();
    this.log(`${started ? 'started' : 'already running:'} xenemu host pid ${status.pid} in ${status.home}`);
    if (flags.recover && !started) this.warn('--recover has no effect on a running daemon; stop it first');
    if (started && status.recovery !== null && status.recovery.problems.length > 0) this.log(describeRecovery(status.recovery));
    return { started, status };
  }
}
