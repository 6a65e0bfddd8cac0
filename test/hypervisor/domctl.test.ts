import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HVM_PARAM } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import { Domctl } from '../../src/hypervisor/domctl.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypervisor, HypervisorError } from '../../src/hypervisor/hypervisor.js';

const REPO = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

// The hypervisor's objects are written by the hypervisor only: the toolstack and the
// daemon go through Domctl, so that a save records exactly what Xen's calls made.
const DOMAIN_FIELD_WRITE =
  /\.(hardAffinity|softAffinity|maxKiB|targetKiB|pauseCount|shutdownReason|dying|online|cpuTimeNs|pcpu|running|sharedInfoGfn|vcpuInfo|sched|rtds)\s*(=(?!=)|\+\+|--|\+=|-=)|\.hvmParams\.(set|delete|clear)\(/;

test('nothing in src/toolstack or src/host assigns a domain or vCPU field: writes go through Domctl', (t) => {
  const found: string[] = [];
  for (const dir of ['src/toolstack', 'src/host']) {
    for (const file of sources(join(REPO, dir))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => DOMAIN_FIELD_WRITE.test(line) && found.push(`${relative(REPO, file)}:${i + 1}: ${line.trim()}`));
    }
  }
  t.deepEqual(found, []);
});

function setup() {
  const hv = new Hypervisor(defaultHostModel({ pcpus: 4, totalMemoryMiB: 4096 }), new VirtualClock());
  const ctl = new Domctl(hv);
  const d = ctl.createDomain({ domid: 1, name: 'g', uuid: '00000000-0000-0000-0000-000000000001', type: 'hvm', memoryKiB: 8192, maxMemKiB: 8192, maxVcpus: 2, onlineVcpus: 1 });
  return { hv, ctl, d };
}

test('setvcpuaffinity: each map on its own, copied, for a vCPU that exists', (t) => {
  const { ctl, d } = setup();
  const hard = [1, 2];
  ctl.setVcpuAffinity(1, 1, hard, undefined);
  hard.push(3);
  t.deepEqual(d.vcpus[1]!.hardAffinity, [1, 2], 'the caller\'s array is not kept');
  t.is(d.vcpus[1]!.softAffinity, null, 'undefined leaves the soft map as it was');
  ctl.setVcpuAffinity(1, 1, null, [0]);
  t.deepEqual([d.vcpus[1]!.hardAffinity, d.vcpus[1]!.softAffinity], [null, [0]]);
  t.is(t.throws(() => ctl.setVcpuAffinity(1, 2, [0], undefined), { instanceOf: HypervisorError })!.code, 'EINVAL');
  t.is(t.throws(() => ctl.setVcpuAffinity(7, 0, [0], undefined), { instanceOf: HypervisorError })!.code, 'ESRCH');
});

test('setvcpuaffinity refuses a hard affinity with no online CPU, as vcpu_set_hard_affinity() does; a soft one may be empty', (t) => {
  const { hv, ctl, d } = setup();
  const pcpus = hv.host.pcpus;
  ctl.setVcpuAffinity(1, 0, [0], undefined);
  for (const hard of [[], [pcpus], [pcpus, pcpus + 3]]) {
    const err = t.throws(() => ctl.setVcpuAffinity(1, 0, hard, undefined), { instanceOf: HypervisorError })!;
    t.is(err.code, 'EINVAL');
    t.regex(err.message, /domain 1 vCPU 0: the hard affinity has no online CPU \(the host has CPUs 0-\d+\)/);
  }
  t.deepEqual(d.vcpus[0]!.hardAffinity, [0], 'a refused map changes nothing');
  ctl.setVcpuAffinity(1, 0, [0, pcpus], []);
  t.deepEqual([d.vcpus[0]!.hardAffinity, d.vcpus[0]!.softAffinity], [[0, pcpus], []]);
});

test('max_mem, pause and unpause nest, HVM params, name, destroy', (t) => {
  const { hv, ctl, d } = setup();
  ctl.setMaxMem(1, 4096);
  t.is(d.maxKiB, 4096, 'a limit below the allocation is accepted, as Xen does');
  t.true(d.paused, 'created paused');
  ctl.pauseDomain(1);
  ctl.unpauseDomain(1);
  t.true(d.paused, 'pauses nest');
  ctl.unpauseDomain(1);
  t.false(d.paused);
  t.is(t.throws(() => ctl.unpauseDomain(1), { instanceOf: HypervisorError })!.code, 'EINVAL');
  t.false(d.viridian);
  ctl.setHvmParam(1, HVM_PARAM.VIRIDIAN, 1n);
  t.true(d.viridian);
  ctl.setDomainName(1, 'renamed');
  t.is(d.name, 'renamed');
  ctl.shutdownDomain(1, 'reboot');
  t.is(d.shutdownReason, 'reboot');
  ctl.destroyDomain(1);
  t.false(hv.domains.has(1));
});
