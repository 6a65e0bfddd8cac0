import test from 'ava';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { XenIntrState } from '../../src/kernel/intr/saved.js';
import type { KernelState } from '../../src/kernel/saved.js';
import { bootMachine, pumpClock, until, yamlConfig } from '../helpers/machine.js';

// A whole booted kernel saves, and a fresh kernel built with the same options loads
// the save in place of booting, on the same domain: it then goes on as the saved one
// (its interrupts count on, its drivers answer the toolstack). Guest memory and Xen's
// state are the domain's own here; their save is the hypervisor's part.

/** An interrupt layer's save without what moves with every interrupt: its sources, ports, vCPUs and handler kinds. */
function bindings(s: XenIntrState) {
  return {
    sources: s.sources.map(({ stats: _stats, wasMasked: _wasMasked, ...rest }) => rest),
    enabled: s.dispatch.enabledPorts,
    free: s.free,
    counters: [...s.upcalls, ...s.counters].map((c) => c.name),
  };
}

for (const [what, cfg] of [
  ['PV', 'name: g\ntype: pv\nmemory: 64\nvcpus: 2\nxenemu:\n  events:\n    - name=xn0,rate=1000,handler=both,vcpu=1\n'],
  ['HVM with the INTx callback', 'name: g\ntype: hvm\nmemory: 64\nvcpus: 2\nxenemu:\n  callback: pci-intx\n  events:\n    - name=xn0,rate=1000,handler=ithread\n'],
] as const) {
  test(`${what}: a booted kernel round-trips through a save, and the loaded one goes on running the domain`, async (t) => {
    const clock = new VirtualClock();
    const stop = pumpClock(clock);
    const tm = await bootMachine({ clock });
    t.teardown(async () => {
      stop();
      await tm.dispose();
    });
    const r = await tm.m.toolstack.create(yamlConfig(cfg));
    await until(() => tm.m.kernel(r.domid)?.state === 'running', 'the guest boots');
    clock.advance(2e9);
    const old = tm.m.kernel(r.domid)!;
    const saved = JSON.parse(JSON.stringify(old.save())) as KernelState;
    // The saved kernel stops taking interrupts; nothing of the domain is touched.
    old.intr.stop();

    const loaded = new Kernel(old.options);
    await loaded.load(saved);
    await until(() => loaded.xenbusFront !== undefined, 'drivers');
    // Loading talks to xenstored (the watches), so the XenStore port has fired since:
    // the interrupt layer's counts and scan positions moved on; its bindings did not.
    const { log: savedLog, intr: savedIntr, ...savedRest } = saved;
    const { log: loadedLog, intr: loadedIntr, ...loadedRest } = loaded.save();
    t.deepEqual(loadedRest, savedRest, 'the loaded kernel saves what it loaded');
    t.deepEqual(bindings(loadedIntr), bindings(savedIntr));
    for (const [i, src] of loadedIntr.sources.entries()) {
      const total = (st: typeof src.stats) => st.reduce((n, x) => n + (x?.count ?? 0), 0);
      t.true(total(src.stats) >= total(savedIntr.sources[i]!.stats), `${src.name} counts on from its saved count`);
    }
    t.deepEqual(loadedLog.lines.slice(0, savedLog.lines.length), savedLog.lines, 'dmesg goes on from the saved lines');
    t.deepEqual(loaded.intr.awaitingHandlers(), []);

    // Its clock interrupt counts on from where it was: 100 Hz for 5 s in all.
    clock.advance(3e9);
    const timer = loaded.intr.snapshot().rows.find((row) => row.name === 'cpu0:timer')!;
    t.is(timer.total, 500);
    const xn0 = loaded.intr.snapshot().rows.find((row) => row.name === 'xn0')!;
    t.true(xn0.total >= 4000, 'the device port kept being served');
    // Its drivers answer the toolstack: the balloon gives memory back.
    const before = loaded.hc.currentPages();
    await tm.xs.write(`/local/domain/${r.domid}/memory/target`, String((before - 16) * 4));
    await until(() => loaded.hc.currentPages() === before - 16, 'the loaded balloon deflates');
  });
}
