import test from 'ava';
import type { EthernetLink } from '../../../src/net/link.js';
import { VifRegistry, type VifEntry, type VifEvent } from '../../../src/net/vif-registry.js';

const link: EthernetLink = { send: () => false, onFrame: null };
const stats = () => ({ txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0, rxPackets: 0, rxBytes: 0, rxDropped: 0 });

function vif(domid: number, devid: number, mac: string): VifEntry {
  return { domid, devid, backendDomid: 0, mac, bridge: 'xenbr0', ip: null, link, stats, domain: `d${domid}`, name: `vif${domid}.${devid}`, capture: `/tmp/d${domid}-${devid}.pcap` };
}

test('a late subscriber hears of the vifs already connected, then of each change; a listener that throws stops no other', (t) => {
  const r = new VifRegistry();
  r.subscribe(() => {
    throw new Error('a broken fabric');
  });
  r.add(vif(2, 0, '00:16:3e:00:00:02'));
  r.add(vif(1, 1, '00:16:3e:00:00:11'));
  const heard: string[] = [];
  const stop = r.subscribe((e: VifEvent) => heard.push(`${e.type} ${e.vif.name}`));
  t.deepEqual(heard, ['connect vif1.1', 'connect vif2.0']);
  const again = vif(2, 0, '00:16:3e:00:00:22');
  r.add(again);
  t.deepEqual(heard.slice(2), ['disconnect vif2.0', 'connect vif2.0'], 'a reconnect replaces the old entry');
  r.remove(vif(2, 0, '00:16:3e:00:00:22'));
  t.is(r.get(2, 0), again, 'only the very entry is removed');
  stop();
  r.remove(again);
  t.is(heard.length, 4, 'unsubscribed');
  t.deepEqual(r.list().map((v) => v.name), ['vif1.1']);
});

test('find takes a devid or a MAC (any case), within one domain', (t) => {
  const r = new VifRegistry();
  r.add(vif(1, 0, '00:16:3e:00:00:01'));
  r.add(vif(2, 3, '00:16:3e:00:00:02'));
  t.is(r.find(2, '3')?.name, 'vif2.3');
  t.is(r.find(2, '00:16:3E:00:00:02')?.name, 'vif2.3');
  t.is(r.find(1, '00:16:3e:00:00:02'), undefined);
  t.is(r.find(1, '7'), undefined);
});
