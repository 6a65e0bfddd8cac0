import test from 'ava';
import { bootMachine, until, yamlConfig } from '../helpers/machine.js';

const web = yamlConfig('name: web\ntype: pvh\nmemory: 256\nmaxmem: 512\nvcpus: 1\ncmdline: console=hvc0\n');

test('a guest that stops reading its xenstore ring is disconnected once its unread frames pass the bound', async (t) => {
  const tm = await bootMachine();
  t.teardown(() => tm.dispose());
  const { domid } = await tm.m.toolstack.create(web);
  const kernel = tm.m.toolstack.kernel(domid)!;
  await until(() => kernel.state === 'running', 'guest kernel running');
  tm.m.xs.quota.set(null, 'watchEvents', 50);
  tm.m.xs.quota.set(null, 'outstanding', 50);
  // A paused guest takes no upcalls, so nothing drains its ring while its watch on
  // cpu/ fires: the ring (1 KiB) fills, then only the bound (100 frames) may wait.
  await tm.m.toolstack.pause(domid);
  let writes = 0;
  const closing = (): boolean => tm.log.some((l) => l.includes(`domain ${domid}:`) && l.includes('disconnecting'));
  while (writes < 5000 && !closing()) {
    await tm.xs.write(`/local/domain/${domid}/cpu/x`, String(writes));
    writes++;
  }
  t.true(closing(), `no disconnect after ${writes} writes: ${tm.log.join('; ')}`);
  t.true(writes < 200, `${writes} writes`);
  t.is(tm.m.rings.backlog(domid), 0, 'nothing is held for the guest any more');
  t.false([...tm.m.xs.connections].some((c) => c.kind === 'domain' && c.domid === domid));
});
