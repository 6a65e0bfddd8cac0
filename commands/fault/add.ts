import { Args, Flags } from '@oclif/core';
import { XenemuCommand } from '../../src/cli/base-command.js';
import { faultCall } from '../../src/client/faults.js';
import { parseDurationMs } from '../../src/common/duration.js';
import { XenemuError } from '../../src/common/errors.js';
import { FAULT_KINDS, isFaultKind } from '../../src/faults/kinds.js';
import { formatFaultList } from '../../src/ui/faults.js';
import type { JsonOutput } from '../../src/ui/json/schemas.js';

function duration(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === null) throw new XenemuError('EINVAL', `${flag} ${text}: not a duration (250ms, 2s, 1.5m, 1h; a bare number is seconds)`);
  return ms;
}

export default class FaultAdd extends XenemuCommand {
  static override summary = 'Make the host misbehave on purpose: XenStore errors and delays, unresponsive or crashing guests';
  static override description = `Adds a fault of KIND, aimed at TARGET (a domain name or id; "socket" for the clients of xenstored's unix sockets; none for every client), and prints it with its id. It stays in force until it has fired --count times, until --duration has passed, or until \`xenemu fault clear\`; with --probability P each matching event fires it with chance P, drawn from a generator seeded by --seed (printed, so a run can be repeated). Every firing is counted (\`xenemu fault list\`) and logged in the host's log (\`xenemu dmesg\`). The daemon's own connections (dom0's kernel, the toolstack) are not faulted.

Kinds:
${Object.entries(FAULT_KINDS).map(([k, v]) => `  ${k.padEnd(19)} ${v}`).join('\n')}`;
  static override examples = [
    '<%= config.bin %> fault add xs-eagain --path /local/domain/0/backend --probability 0.5 --seed 7',
    '<%= config.bin %> fault add xs-errno web --errno EACCES --op READ --count 3',
    '<%= config.bin %> fault add xs-delay socket --delay 200ms --duration 30s',
    '<%= config.bin %> fault add xs-watch-delay web --delay 1s --coalesce',
    '<%= config.bin %> fault add xs-quota web --quota nodes=20 --quota watches=2 --duration 1m',
    '<%= config.bin %> fault add guest-unresponsive web',
    '<%= config.bin %> fault add guest-crash db --delay 5s',
    '<%= config.bin %> fault add vcpu-hang web --vcpu 1 --duration 10s',
    '<%= config.bin %> fault add hotplug-fail web --count 1',
    '<%= config.bin %> fault add host-kill --at flush --after 100',
    '<%= config.bin %> fault add disk-error web --vdev xvda --sectors 2048-4095',
    '<%= config.bin %> fault add disk-slow db --delay 20ms --duration 1m',
    '<%= config.bin %> fault add backend-die web --vdev xvdb',
    '<%= config.bin %> fault add net-drop web --probability 0.1 --seed 3',
    '<%= config.bin %> fault add net-delay web --vif 0 --delay 50ms',
  ];
  static override enableJsonFlag = true;
  static override args = {
    kind: Args.string({ description: 'what goes wrong', required: true }),
    target: Args.string({ description: 'a domain name or id, or "socket"; none: every client' }),
  };
  static override flags = {
    probability: Flags.string({ description: 'chance that a matching event fires it, in (0, 1]', default: '1' }),
    count: Flags.integer({ description: 'end after firing this many times', min: 1 }),
    duration: Flags.string({ description: 'end after this long: 250ms, 2s, 1.5m, 1h' }),
    seed: Flags.integer({ description: "seed of the fault's random draws (default: a random one, printed)", min: 0, max: 0xffffffff }),
    errno: Flags.string({ description: 'xs-errno: the Xen errno name to answer with (EACCES, EIO, ENOSPC, ...)' }),
    op: Flags.string({ description: 'xs-errno: only requests of this type (READ, WRITE, TRANSACTION_START, ...)' }),
    path: Flags.string({ description: 'xs-errno, xs-eagain: only requests or transactions touching this path or below it' }),
    delay: Flags.string({ description: 'xs-delay, xs-watch-delay, guest-slow-boot: how late; guest-crash: when' }),
    every: Flags.string({ description: 'guest-leak: how often a node is leaked (default 1s)' }),
    vcpu: Flags.integer({ description: 'vcpu-hang: the vCPU that hangs (default 0)', min: 0 }),
    at: Flags.string({ description: 'host-kill: where the daemon dies', options: ['flush', 'create'] }),
    after: Flags.integer({ description: 'host-kill: at the Nth such point from now (default 1)', min: 1 }),
    vdev: Flags.string({ description: 'disk-error, disk-slow, backend-die: only this disk (xvda, hdc, or its number; default: every disk of the domain)' }),
    sectors: Flags.string({ description: 'disk-error: only requests touching START-END (512-byte sectors, inclusive)' }),
    vif: Flags.integer({ description: "net-drop, net-delay, net-corrupt: only this vif's devid (default: every NIC of the domain)", min: 0 }),
    coalesce: Flags.boolean({ description: 'xs-watch-delay: drop an event while the same one is still held' }),
    quota: Flags.string({ description: 'xs-quota: NAME=VALUE (nodes, watches, transactions, node-size, permissions, outstanding, transaction-nodes, path-max); repeat for several', multiple: true }),
  };

  async run(): Promise<JsonOutput<'fault:add'>> {
    const { args, flags } = await this.parse(FaultAdd);
    if (!isFaultKind(args.kind)) throw new XenemuError('EINVAL', `unknown fault kind ${args.kind} (one of ${Object.keys(FAULT_KINDS).join(', ')})`);
    const probability = Number(flags.probability);
    if (!(probability > 0 && probability <= 1)) throw new XenemuError('EINVAL', `--probability ${flags.probability}: not in (0, 1]`);
    const quota: Record<string, number> = {};
    for (const item of flags.quota ?? []) {
      const m = /^([a-z-]+)=([0-9]+)$/.exec(item);
      if (m === null) throw new XenemuError('EINVAL', `--quota ${item}: expected NAME=VALUE, e.g. nodes=20`);
      quota[m[1]!] = Number(m[2]);
    }
    const row = await faultCall(this.paths, 'fault.add', {
      kind: args.kind,
      target: args.target ?? null,
      ...(flags.probability !== '1' ? { probability } : {}),
      ...(flags.count !== undefined ? { count: flags.count } : {}),
      ...(flags.duration !== undefined ? { durationMs: duration(flags.duration, '--duration') } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.errno !== undefined ? { errno: flags.errno.toUpperCase() as 'EIO' } : {}),
      ...(flags.op !== undefined ? { op: flags.op.toUpperCase() } : {}),
      ...(flags.path !== undefined ? { path: flags.path } : {}),
      ...(flags.delay !== undefined ? { delayMs: duration(flags.delay, '--delay') } : {}),
      ...(flags.every !== undefined ? { intervalMs: duration(flags.every, '--every') } : {}),
      ...(flags.coalesce ? { coalesce: true } : {}),
      ...(flags.vcpu !== undefined ? { vcpu: flags.vcpu } : {}),
      ...(flags.at !== undefined ? { at: flags.at as 'flush' | 'create' } : {}),
      ...(flags.after !== undefined ? { after: flags.after } : {}),
      ...(flags.vif !== undefined ? { vif: flags.vif } : {}),
      ...(flags.vdev !== undefined ? { vdev: flags.vdev } : {}),
      ...(flags.sectors !== undefined ? { sectors: flags.sectors } : {}),
      ...(flags.quota !== undefined ? { quota } : {}),
    });
    if (!this.jsonEnabled()) this.log(formatFaultList([row]));
    return row;
  }
}
