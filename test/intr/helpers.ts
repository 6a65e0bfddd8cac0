import { HVM_PARAM, HVM_PARAM_CALLBACK_TYPE, HVM_PARAM_CALLBACK_TYPE_SHIFT } from '../../src/abi/index.js';
import { VirtualClock } from '../../src/hypervisor/clock.js';
import type { DomainType } from '../../src/hypervisor/domain.js';
import { defaultHostModel } from '../../src/hypervisor/host-model.js';
import { Hypercalls } from '../../src/hypervisor/hypercalls.js';
import { Hypervisor } from '../../src/hypervisor/hypervisor.js';
import type { CostModel } from '../../src/kernel/intr/cost-model.js';
import type { CallbackMode } from '../../src/kernel/intr/stats.js';
import { XenIntr, type XenIntrOptions } from '../../src/kernel/intr/xen-intr.js';

/** A hypervisor on a virtual clock, without xenstored or the toolstack. */
export function bareHypervisor(pcpus = 8): { clock: VirtualClock; hv: Hypervisor } {
  const clock = new VirtualClock();
  const hv = new Hypervisor(defaultHostModel({ pcpus, totalMemoryMiB: 65536 }), clock);
  return { clock, hv };
}

let uuidSeq = 0;

/** A running domain and its hypercall interface. */
export function domain(hv: Hypervisor, domid: number, opts: { vcpus?: number; online?: number; type?: DomainType; maxEventChannels?: number } = {}) {
  const vcpus = opts.vcpus ?? 1;
  const d = hv.createDomain({
    domid,
    name: `d${domid}`,
    uuid: `00000000-0000-0000-0000-${String(++uuidSeq).padStart(12, '0')}`,
    type: opts.type ?? 'pv',
    memoryKiB: 65536,
    maxMemKiB: 65536,
    maxVcpus: vcpus,
    onlineVcpus: opts.online ?? vcpus,
    maxEventChannels: opts.maxEventChannels ?? 4095,
  });
  hv.unpause(domid);
  return { d, hc: new Hypercalls(hv, domid) };
}

/** HVM_PARAM_CALLBACK_IRQ values, as hvm/params.h builds them. */
export function callbackParam(mode: 'vector' | 'pci-intx'): bigint {
  const shift = BigInt(HVM_PARAM_CALLBACK_TYPE_SHIFT);
  return mode === 'vector' ? (BigInt(HVM_PARAM_CALLBACK_TYPE.VECTOR) << shift) | 0x93n : (BigInt(HVM_PARAM_CALLBACK_TYPE.PCI_INTX) << shift) | BigInt(3 << 11);
}

/**
 * A guest's interrupt layer on a domain of a bare hypervisor, installed as its
 * upcall (and, for HVM, with its callback set), every port masked as a kernel starts.
 */
export function guestIntr(
  hv: Hypervisor,
  clock: VirtualClock,
  hc: Hypercalls,
  nrVcpus: number,
  mode: CallbackMode,
  cost?: Partial<CostModel>,
  onHandlerError?: XenIntrOptions['onHandlerError'],
): XenIntr {
  const shared = hc.evtchn.shared;
  for (let p = 0; p < 4096; p++) shared.testAndSetMask(p);
  for (let v = 32; v < nrVcpus; v++) hc.registerVcpuInfo(v, 100 + (v >> 6), (v % 64) * 64);
  const intr = new XenIntr({ hc, clock, nrVcpus, mode, ...(cost ? { cost } : {}), ...(onHandlerError ? { onHandlerError } : {}) });
  hc.setUpcallHandler((v) => intr.handleUpcall(v));
  if (mode !== 'pv') hc.setHvmParam(HVM_PARAM.CALLBACK_IRQ, callbackParam(mode));
  // Registration flagged every vCPU; let those upcalls run.
  clock.drain();
  return intr;
}
