import test from 'ava';
import { ConsoleRingBackend } from '../../src/abi/index.js';
import { HvcConsole } from '../../src/kernel/console/hvc.js';
import { bareHypervisor, domain, guestIntr } from '../intr/helpers.js';

// hvc0's output that waits for room in the ring is kernel memory, not the ring page's:
// a save keeps it, and a loaded console sends it once the backend makes room, in order.

test('hvc0 round-trips its backlog: output waiting for room goes out after a load, once the backend reads', (t) => {
  const { clock, hv } = bareHypervisor();
  const dom0 = domain(hv, 0);
  const g = domain(hv, 1);
  const intr = guestIntr(hv, clock, g.hc, 1, 'pv');
  const gfn = 0x200;
  const port = g.hc.evtchn.allocUnbound(0);
  const backendPort = dom0.hc.evtchn.bindInterdomain(1, port);
  const hvc = new HvcConsole(g.hc.platform.page(gfn), port, g.hc, intr);
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}: ${'x'.repeat(40)}`);
  for (const l of lines) hvc.writeLine(l);
  const saved = JSON.parse(JSON.stringify(hvc.save())) as ReturnType<HvcConsole['save']>;
  t.true(Buffer.from(saved.backlog, 'base64').length > 2048, 'more than the 2 KiB out ring holds is waiting');

  // A fresh console on the same page and port takes the backlog.
  const loaded = new HvcConsole(g.hc.platform.page(gfn), port, g.hc, intr);
  loaded.load(saved);
  t.deepEqual(loaded.save(), saved);
  const backend = new ConsoleRingBackend(g.hc.platform.page(gfn));
  let out = '';
  for (let round = 0; round < 10 && out.length < lines.length * 45; round++) {
    out += Buffer.from(backend.read()).toString('utf8');
    dom0.hc.evtchn.send(backendPort); // xenconsoled made room
    clock.drain();
  }
  t.is(out, lines.map((l) => `${l}\r\n`).join(''));
  t.deepEqual(loaded.save(), { backlog: '' });
});
