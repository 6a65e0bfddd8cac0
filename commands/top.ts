import { Flags } from '@oclif/core';
import { XenemuCommand } from '../src/cli/base-command.js';

export default class Top extends XenemuCommand {
  static override summary = 'Live dashboard of the host, its domains and their interrupts, like xentop';
  static override description = `Shows the host (Xen version, CPUs, memory, domains by state), xentop's domain table (sortable, one domain selected) and, for the selected domain, its interrupts per second by vCPU and source: a heat map, or sparklines of the last minute, with the event channel counts, the callback mode and the share of handler time spent in filters and in interrupt threads. The daemon pushes a sample every delay; nothing polls XenStore.

Keys: arrows select, d sets the delay, s sorts by the next column (S the previous, r reverses), g switches the grid, a shows the IPIs that never fired (hidden by default, like -a), h shows help, q quits. Domains that do not fit are counted on the table's last line; EVTS/s is the interrupts per second the domain's kernel handled, the grid's total. NO_COLOR turns colours off. The daemon is not started: if it is not running, or goes away, top says so and exits 1.

-b prints xentop's batch text instead, byte for byte (the column header, then one row per domain sorted by name, every delay; -v, -n, -x, -r and -f as in xentop), so scripts that parse xentop keep working. --json prints each sample as one JSON object per line.`;

  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top -d 0.5',
    '<%= config.bin %> top -b -i 2 -d 1',
    '<%= config.bin %> top -b -v -i 1',
    '<%= config.bin %> top --json -i 5 | jq .domains[].cpuPct',
  ];

  /** -h is help, as in xentop. */
  static override baseFlags = { help: Flags.help({ char: 'h' }) };

  static override flags = {
    delay: Flags.string({ char: 'd', helpValue: 'SECONDS', description: 'seconds between updates (default 3, as xentop; fractions allowed)', default: '3' }),
    batch: Flags.boolean({ char: 'b', description: "print xentop's batch text: no screen, no keys" }),
    iterations: Flags.integer({ char: 'i', helpValue: 'N', description: 'stop after N updates (-b and --json; 0: never)' }),
    vcpus: Flags.boolean({ char: 'v', description: 'with -b: a VCPUs(sec) line per domain' }),
    networks: Flags.boolean({ char: 'n', description: 'with -b: a line per vif' }),
    vbds: Flags.boolean({ char: 'x', description: 'with -b: a line per vbd' }),
    'repeat-header': Flags.boolean({ char: 'r', description: 'with -b: the column header before every domain' }),
    'full-name': Flags.boolean({ char: 'f', description: 'with -b: full domain names, not their first 10 characters' }),
    json: Flags.boolean({ description: 'print every sample as one JSON object per line' }),
    'all-sources': Flags.boolean({ char: 'a', description: 'show the IPIs that never fired in the grid too (the a key toggles it)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    const seconds = Number(flags.delay);
    if (!Number.isFinite(seconds) || seconds <= 0) this.error(`-d ${flags.delay}: the delay is a positive number of seconds`, { exit: 2 });
    const batch = flags.batch || flags.json;
    if (!batch && !process.stdout.isTTY) {
      this.error("standard output is not a terminal: use -b for xentop's text, or --json", { exit: 1 });
    }

    const { runTop, topDelayMs } = await import('../src/ui/top/run.js');
    const status = await runTop({
      paths: this.paths,
      delayMs: topDelayMs(seconds),
      batch,
      json: flags.json,
      iterations: flags.iterations ?? 0,
      batchOptions: { vcpus: flags.vcpus, networks: flags.networks, vbds: flags.vbds, repeatHeader: flags['repeat-header'], fullName: flags['full-name'] },
      allSources: flags['all-sources'],
    });
    if (status !== 0) this.exit(status);
  }
}
