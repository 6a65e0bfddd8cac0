/**
 * The pre-copy loop against a real hypervisor's log-dirty mode: what arrives equals the
 * source's memory at the suspend, whatever the guest wrote during the rounds, and the
 * rounds stop as libxc's policy says.
 */
import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor } from '../../src/hypervisor/hypervisor.js';
import { PrecopySender, simplePrecopyPolicy, SPP_MAX_ITERATIONS, type PageWriter } from '../../src/toolstack/migrate/precopy.js';

function setup() {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 2, totalMemoryMiB: 8192 }), new VirtualClock());
  hv.createDomain({ domid: 1, name: 'g', uuid: '00000000-0000-0000-0000-000000000001', type: 'pv', memoryKiB: 16384, maxMemKiB: 16384, maxVcpus: 1, onlineVcpus: 1 });
  const hc = new Hypercalls(hv, 1);
  /** A guest store: the bytes, and the kernel's report of it. */
  const store = (gfn: number, byte: number) => {
    hc.platform.page(gfn).fill(byte);
    hc.platform.stored(gfn);
  };
  return { hv, domctl: new Domctl(hv), hc, store };
}

/** A target that keeps what arrives; `between` runs after each batch (the guest running meanwhile). */
function target(between: (round: number) => void = () => {}): PageWriter & { memory: Map<number, Uint8Array>; batches: number[][] } {
  const memory = new Map<number, Uint8Array>();
  const batches: number[][] = [];
  return {
    memory,
    batches,
    async pages(pfns, pageOf) {
      pfns.forEach((pfn, i) => {
        const page = pageOf(pfn, i);
        if (page === null) memory.delete(pfn);
        else memory.set(pfn, page.slice());
      });
      batches.push([...pfns]);
      between(batches.length - 1);
    },
  };
}

function sourceMemory(hv: Hypervisor): Map<number, Uint8Array> {
  const m = hv.get(1).memory.save();
  return new Map(m.pfns.map((pfn, i) => [pfn, m.pages[i]!]));
}

test('an idle guest: round 0 sends every page that exists, the next finds nothing and stops, the final round sends nothing', async (t) => {
  const { hv, domctl, store } = setup();
  for (let g = 0; g < 100; g++) store(g * 3, g);
  const w = target();
  const s = new PrecopySender(domctl, 1, w);
  await s.live();
  t.deepEqual(w.batches.map((b) => b.length), [100]);
  await s.final();
  s.stop();
  t.deepEqual(s.rounds.map((r) => [r.round, r.pages, r.final]), [[0, 100, false], [1, 0, true]]);
  t.deepEqual(w.memory, sourceMemory(hv));
  t.false(hv.get(1).memory.logDirty, 'stop turned log-dirty off');
});

test('a guest writing during the rounds: what it wrote is sent again, and the target ends equal to the source at the suspend', async (t) => {
  const { hv, domctl, store, hc } = setup();
  for (let g = 0; g < 400; g++) store(g, 1);
  // While each round is sent the guest writes 200 pages, then 100, 60, 30 (converging), and releases one.
  const writes = [200, 100, 60, 30];
  const w = target((round) => {
    for (let g = 0; g < (writes[round] ?? 0); g++) store(1000 + g, round + 10);
    if (round === 1) hc.decreaseReservation([5]);
  });
  const s = new PrecopySender(domctl, 1, w);
  await s.live();
  // The suspend: the guest writes no more, but a backend might have; then the last round.
  store(7, 99);
  await s.final();
  s.stop();
  t.deepEqual(s.rounds.map((r) => r.pages), [400, 200, 101, 60, 30, 1], "under 50 dirty: that round still goes live (libxc sends, then stops)");
  t.deepEqual(w.memory, sourceMemory(hv));
  t.false(w.memory.has(5), 'a page the guest gave back is gone at the target too');
});

test('a guest that dirties as much as is sent: the rounds stop when the count stops shrinking, not after five', async (t) => {
  const { hv, domctl, store } = setup();
  for (let g = 0; g < 300; g++) store(g, 1);
  let running = true;
  const w = target((round) => {
    for (let g = 0; g < 200 && running; g++) store(g, round);
  });
  const s = new PrecopySender(domctl, 1, w);
  await s.live();
  running = false;
  await s.final();
  s.stop();
  t.deepEqual(s.rounds.map((r) => r.pages), [300, 200, 200, 200]);
  t.deepEqual(w.memory, sourceMemory(hv));
});

test('libxc\'s policy: below 50 dirty pages or at 5 rounds stop; unknown counts continue', (t) => {
  t.is(simplePrecopyPolicy({ iteration: 1, dirtyCount: 49, previousDirtyCount: 1000 }), 'stop');
  t.is(simplePrecopyPolicy({ iteration: 1, dirtyCount: 500, previousDirtyCount: 1000 }), 'continue');
  t.is(simplePrecopyPolicy({ iteration: 2, dirtyCount: -1, previousDirtyCount: 500 }), 'continue');
  t.is(simplePrecopyPolicy({ iteration: SPP_MAX_ITERATIONS, dirtyCount: -1, previousDirtyCount: 500 }), 'stop');
  t.is(simplePrecopyPolicy({ iteration: 3, dirtyCount: 600, previousDirtyCount: 500 }), 'stop', 'not shrinking');
});

test('a writer that fails (the target went away) leaves log-dirty off after stop, and the domain untouched', async (t) => {
  const { hv, domctl, store } = setup();
  store(1, 1);
  const s = new PrecopySender(domctl, 1, {
    pages: () => Promise.reject(new Error('EPIPE')),
  });
  await t.throwsAsync(() => s.live(), { message: 'EPIPE' });
  s.stop();
  t.false(hv.get(1).memory.logDirty);
  t.is(hv.get(1).memory.page(1)[0], 1);
});
