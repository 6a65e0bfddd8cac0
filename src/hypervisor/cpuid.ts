import { xenCpuidBase } from '../abi/index.js';
import type { HostModel } from './host-model.js';

export type CpuidResult = readonly [eax: number, ebx: number, ecx: number, edx: number];

/** Three little-endian registers spelling a 12-byte signature, as CPUID returns vendor strings. */
function signature(text: string): [number, number, number] {
  const b = Buffer.from(text.padEnd(12, '\0'), 'latin1');
  return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8)];
}

const XEN_SIGNATURE = signature('XenVMMXenVMM');
const HYPERV_SIGNATURE = signature('Microsoft Hv');

/** XEN_CPUID_MAX_NUM_LEAVES of 4.17: leaves base+1 .. base+5 are defined. */
const XEN_LEAVES = 5;

/**
 * The hypervisor CPUID leaves a guest sees (arch-x86/cpuid.h). Xen's leaves sit at
 * 0x40000000, or at 0x40000100 when the domain has Viridian enabled, because then
 * 0x40000000 belongs to the Hyper-V interface that Windows guests look for first.
 * Anything else in the 0x40000000-0x4000ffff range reads as zeros.
 */
export function hypervisorCpuid(leaf: number, host: HostModel, viridian: boolean): CpuidResult {
  const base = xenCpuidBase(viridian);
  if (viridian && leaf === 0x40000000) return [0x40000006, ...HYPERV_SIGNATURE];
  switch (leaf - base) {
    case 0:
      return [base + XEN_LEAVES, ...XEN_SIGNATURE];
    case 1:
      return [(host.xenMajor << 16) | host.xenMinor, 0, 0, 0];
    case 2:
      // One hypercall page, set up through MSR 0x40000000.
      return [1, 0x40000000, 0, 0];
    default:
      return [0, 0, 0, 0];
  }
}

/** The signature a guest finds in ebx:ecx:edx, as text. */
export function cpuidSignature(r: CpuidResult): string {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(r[1] >>> 0, 0);
  b.writeUInt32LE(r[2] >>> 0, 4);
  b.writeUInt32LE(r[3] >>> 0, 8);
  return b.toString('latin1').replace(/\0+$/, '');
}
