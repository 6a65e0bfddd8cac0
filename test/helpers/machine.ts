import type { ExecutionContext } from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './scratch.js';
import { XsClient } from '../../src/protocol/xs-client.js';
import { RealClock, VirtualClock, type Clock } from '../../src/hypervisor/clock.js';
import { engineTransport } from '../../src/kernel/engine-transport.js';
import { Machine, memoryState } from '../../src/host/machine.js';
import { parseDomainConfigText, type DomainConfig } from '../../src/toolstack/config/index.js';

export interface TestMachine {
  m: Machine;
  state: ReturnType<typeof memoryState>;
  /** A privileged (dom0) xenstore client, as a toolstack or a script in dom0 has. */
  xs: XsClient;
  log: string[];
  dispose(): Promise<void>;
}

/** The emulated machine in-process: no daemon, no sockets, a scratch console dir. */
export async function bootMachine(options: { clock?: Clock; state?: ReturnType<typeof memoryState>; machine?: Machine; bridges?: readonly string[] } = {}): Promise<TestMachine> {
  const dir = scratchDir('xe-m-');
  const state = options.state ?? memoryState();
  const log: string[] = [];
  const m = await Machine.boot({
    clock: options.clock ?? new RealClock(),
    host: { pcpus: 4, totalMemoryMiB: 16384, hostname: 'testhost' },
    dom0MemoryMiB: 1024,
    state,
    ...(options.machine ? { storeRecords: options.machine.xs.db.dump() } : {}),
    consoleDir: join(dir, 'console'),
    ...(options.bridges !== undefined ? { bridges: options.bridges } : {}),
    daemonPath: '/usr/lib/xenemu/xenstored',
    log: (line) => log.push(line),
  });
  const xs = new XsClient(engineTransport(m.xs));
  return {
    m,
    state,
    xs,
    log,
    async dispose() {
      xs.close();
      await m.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A domain config from YAML text, with every default filled in. */
export function yamlConfig(text: string): DomainConfig {
  return parseDomainConfigText(text, 'yaml', 'test.yaml').config;
}

/** Wait until `check` holds, re-checking after each turn of the event loop. */
export async function until(check: () => boolean | Promise<boolean>, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

/** A machine on a virtual clock whose deferred work runs every turn of the event loop; both end with the test. */
export async function bootPumpedMachine(t: ExecutionContext): Promise<{ tm: TestMachine; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const tm = await bootMachine({ clock });
  const stop = pumpClock(clock);
  t.teardown(async () => {
    stop();
    await tm.dispose();
  });
  return { tm, clock };
}

/** Run the virtual clock's deferred work on every turn of the event loop, until stopped. */
export function pumpClock(clock: VirtualClock): () => void {
  let on = true;
  const turn = () => {
    if (!on) return;
    clock.drain();
    setImmediate(turn);
  };
  setImmediate(turn);
  return () => {
    on = false;
  };
}
