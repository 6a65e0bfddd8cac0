/**
 * Frames between two guests over a bridge, against appending the same frames to a
 * file directly, in the same run, rounds alternating.
 *
 * - rings: guest A's stack puts UDP frames on its NIC (net-send's stream) → netfront
 *   → the tx ring, grant copy → netback in dom0 → A's vif capture → the bridge (its
 *   capture) → B's vif capture → netback → the rx ring, grant copy → netfront → B's
 *   stack, which counts them. Frames/s and MB/s are what B received.
 * - fabric: the same, with the rings replaced by in-memory links (the bridge and
 *   the three captures alone).
 * - capture: one PcapWriter taking the frames (what each vif's capture costs).
 * - direct: the same frames appended to a file with one write per 256 KiB, no pcap
 *   headers: the host's own cost of putting those bytes in a file.
 *
 *   node --import tsx bench/net.ts [--rounds 3] [--frames 200000] [--only fabric]
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RealClock } from '../src/hypervisor/clock.js';
import type { Kernel } from '../src/kernel/kernel.js';
import { NetStack } from '../src/kernel/net/stack/net-stack.js';
import { parseIpv4 } from '../src/kernel/net/stack/packet.js';
import { runUdpStream } from '../src/kernel/net/stack/udp-stream.js';
import { vifCapturePath } from '../src/net/capture-path.js';
import { NetFabric } from '../src/net/fabric.js';
import { parseMac } from '../src/net/mac.js';
import { PcapWriter } from '../src/net/pcap-writer.js';
import { VifRegistry } from '../src/net/vif-registry.js';
import { fakeVif } from '../test/helpers/fake-links.js';
import { bootMachine, until, yamlConfig, type TestMachine } from '../test/helpers/machine.js';
import { attachVif } from '../test/kernel/net/helpers.js';
import { machine, median, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    frames: { type: 'string', default: '200000' },
    only: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const FRAMES = Number(values.frames);
const SIZES = [64, 1514];
const clock = new RealClock();
const dir = mkdtempSync(join(tmpdir(), 'xe-bench-net-'));
const MAC_A = '00:16:3e:00:00:0a';
const MAC_B = '00:16:3e:00:00:0b';

interface Run {
  frames: number;
  bytes: number;
  seconds: number;
}

/** Two guests' stacks on a fabric: in-memory links, or NICs on the real rings. */
interface Pair {
  a: NetStack;
  b: NetStack;
  fabric: NetFabric;
  close(): Promise<void>;
}

function fabricFor(registry: VifRegistry, home: string): NetFabric {
  return new NetFabric(registry, { home, clock, log: (l) => console.error(l) });
}

async function fakePair(home: string): Promise<Pair> {
  const registry = new VifRegistry();
  const fabric = fabricFor(registry, home);
  const mk = (domid: number, mac: string, ip: string): NetStack => {
    const v = fakeVif({ domid, mac, ip, domain: `g${domid}`, capture: vifCapturePath(home, `g${domid}`, '0') });
    registry.add(v.entry);
    return new NetStack(v.guest, { name: 'eth0', mac: parseMac(mac)!, ip: parseIpv4(ip), clock });
  };
  return { a: mk(1, MAC_A, '10.0.0.1'), b: mk(2, MAC_B, '10.0.0.2'), fabric, close: async () => fabric.close() };
}

async function ringPair(home: string): Promise<Pair> {
  const tm: TestMachine = await bootMachine();
  const registry = new VifRegistry();
  const fabric = fabricFor(registry, home);
  tm.m.dom0.netback.onVif = (e) => {
    const entry = { ...e.vif, domain: `d${e.vif.domid}`, name: `vif${e.vif.domid}.${e.vif.devid}`, capture: vifCapturePath(home, `d${e.vif.domid}`, String(e.vif.devid)) };
    if (e.type === 'connect') registry.add(entry);
    else {
      const have = registry.get(e.vif.domid, e.vif.devid);
      if (have !== undefined) registry.remove(have);
    }
  };
  const guest = async (name: string, mac: string, ip: string): Promise<Kernel> => {
    const r = await tm.m.toolstack.create(yamlConfig(`name: ${name}\nmemory: 256\n`));
    await until(() => tm.m.toolstack.kernel(r.domid)?.state === 'running', `${name} running`);
    const k = tm.m.toolstack.kernel(r.domid)!;
    await attachVif(tm, k, { frontDomid: r.domid, backDomid: 0, devid: 0, mac, ip });
    await until(() => k.net.interface(0) !== undefined, `${name}'s stack up`);
    return k;
  };
  const ka = await guest('alpha', MAC_A, '10.0.0.1');
  const kb = await guest('beta', MAC_B, '10.0.0.2');
  return {
    a: ka.net.interface(0)!,
    b: kb.net.interface(0)!,
    fabric,
    close: async () => {
      fabric.close();
      await tm.dispose();
    },
  };
}

/** A's stream to B; what B received, timed from the first send to the last arrival. */
async function stream(p: Pair, frameSize: number): Promise<Run> {
  const before = p.b.counters.udpIn;
  const start = clock.now();
  await runUdpStream(p.a, { dst: parseIpv4('10.0.0.2')!, port: 9, count: FRAMES, frameSize }, clock);
  await until(() => p.b.counters.udpIn - before >= FRAMES, 'every frame at B', 1_000_000);
  const seconds = (clock.now() - start) / 1e9;
  p.fabric.flush();
  return { frames: FRAMES, bytes: FRAMES * frameSize, seconds };
}

function frameOf(size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set(parseMac(MAC_B)!, 0);
  f.set(parseMac(MAC_A)!, 6);
  for (let i = 12; i < size; i++) f[i] = i & 0xff;
  return f;
}

function capture(size: number, round: number): Run {
  const f = frameOf(size);
  const w = new PcapWriter({ path: join(dir, `cap-${size}-${round}.pcap`), log: (l) => console.error(l) });
  const t0 = clock.now();
  for (let i = 0; i < FRAMES; i++) w.write(f);
  w.close();
  return { frames: FRAMES, bytes: FRAMES * size, seconds: (clock.now() - t0) / 1e9 };
}

function direct(size: number, round: number): Run {
  const f = frameOf(size);
  const path = join(dir, `direct-${size}-${round}.bin`);
  const fd = openSync(path, 'a');
  const buf = new Uint8Array(256 * 1024 + size);
  let used = 0;
  const t0 = clock.now();
  for (let i = 0; i < FRAMES; i++) {
    buf.set(f, used);
    used += size;
    if (used >= 256 * 1024) {
      writeSync(fd, buf, 0, used);
      used = 0;
    }
  }
  if (used > 0) writeSync(fd, buf, 0, used);
  closeSync(fd);
  const seconds = (clock.now() - t0) / 1e9;
  if (statSync(path).size !== FRAMES * size) throw new Error('direct: short file');
  return { frames: FRAMES, bytes: FRAMES * size, seconds };
}

const fps = (r: Run): number => r.frames / r.seconds;
const mbs = (r: Run): number => r.bytes / r.seconds / 1e6;

async function main(): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  const kinds = ['direct', 'capture', 'fabric', 'rings'].filter((k) => values.only === undefined || values.only.split(',').includes(k) || k === 'direct');
  const results = new Map<string, Run[]>();
  const add = (k: string, r: Run): void => void results.set(k, [...(results.get(k) ?? []), r]);
  const fake = kinds.includes('fabric') ? await fakePair(join(dir, 'fabric')) : null;
  const rings = kinds.includes('rings') ? await ringPair(join(dir, 'rings')) : null;
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      add(`direct ${size}`, direct(size, round));
      if (kinds.includes('capture')) add(`capture ${size}`, capture(size, round));
      if (fake !== null) add(`fabric ${size}`, await stream(fake, size));
      if (rings !== null) add(`rings ${size}`, await stream(rings, size));
    }
  }
  await fake?.close();
  await rings?.close();
  clearInterval(keepAlive);
  console.log(`net: ${ROUNDS} rounds alternating, ${FRAMES} frames per case, median; frames of 64 and 1514 bytes (1500-byte IP packets)`);
  console.log(`machine: ${machine()}`);
  const rows: string[][] = [];
  for (const size of SIZES) {
    const d = results.get(`direct ${size}`)!;
    const dm = median(d.map(mbs));
    for (const k of kinds) {
      const runs = results.get(`${k} ${size}`);
      if (runs === undefined) continue;
      const m = median(runs.map(mbs));
      rows.push([k, String(size), Math.round(median(runs.map(fps))).toLocaleString('en-US'), m.toFixed(1), `${Math.round((m / dm) * 100)}%`]);
    }
  }
  console.log(table(['path', 'frame', 'frames/s', 'MB/s', 'of direct'], rows));
  rmSync(dir, { recursive: true, force: true });
}

await main();
