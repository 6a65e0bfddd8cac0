/**
 * DomainConfig → YAML and → xl.cfg. Both writers leave out what equals its default
 * (including a MAC that equals the one xenemu would derive), so the output reads
 * like something a person wrote; reading the output back gives the same
 * DomainConfig (the round-trip tests hold them to that).
 */

import { stringify } from 'yaml';
import { formatDiskSpec } from './disk-spec.js';
import { formatEventSpec } from './events.js';
import { formatFaultSpec } from '../../faults/spec.js';
import type { DiskSpec, DomainConfig, VifSpec } from './schema.js';
import { formatVifSpec, generateMac } from './vif-spec.js';
import { quoteXlString } from './xlcfg-syntax.js';

const ACTION_DEFAULTS = {
  on_poweroff: 'destroy',
  on_reboot: 'restart',
  on_watchdog: 'destroy',
  on_crash: 'destroy',
  on_soft_reset: 'soft-reset',
} as const;

/** The defaults a vif's fields are compared against (they depend on the domain and devid). */
function vifDefaults(config: DomainConfig, v: VifSpec, index: number) {
  const type = config.type === 'hvm' ? 'ioemu' : 'vif';
  return {
    mac: generateMac(config.uuid ?? config.name, v.devid),
    devid: index,
    type,
    model: v.type === 'ioemu' ? 'rtl8139' : undefined,
  };
}

/** Whether reading the disk back would give its format without saying it. */
function formatIsImplied(d: DiskSpec): boolean {
  return d.format === 'raw' || (d.devtype === 'cdrom' && d.target === undefined && d.format === 'empty');
}

function diskObject(d: DiskSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (d.target !== undefined) o.target = d.target;
  if (!formatIsImplied(d)) o.format = d.format;
  o.vdev = d.vdev;
  if (d.devtype === 'cdrom') o.devtype = 'cdrom';
  else if (d.access !== 'rw') o.access = d.access;
  if (d.backend !== '0') o.backend = d.backend;
  if (d.backendtype !== undefined) o.backendtype = d.backendtype;
  if (d.script !== undefined) o.script = d.script;
  if (d['direct-io-safe']) o['direct-io-safe'] = true;
  if (!d.discard) o.discard = false;
  if (!d.trusted) o.trusted = false;
  if (d.specification !== 'xen') o.specification = d.specification;
  return o;
}

function vifObject(config: DomainConfig, v: VifSpec, index: number): Record<string, unknown> {
  const dflt = vifDefaults(config, v, index);
  const o: Record<string, unknown> = {};
  if (v.mac !== dflt.mac) o.mac = v.mac;
  if (v.bridge !== 'xenbr0') o.bridge = v.bridge;
  if (v.gatewaydev !== undefined) o.gatewaydev = v.gatewaydev;
  if (v.type !== dflt.type) o.type = v.type;
  if (v.model !== undefined && v.model !== dflt.model) o.model = v.model;
  if (v.vifname !== undefined) o.vifname = v.vifname;
  if (v.script !== 'vif-bridge') o.script = v.script;
  if (v.ip !== undefined) o.ip = v.ip;
  if (v.capture !== undefined) o.capture = v.capture;
  if (v.backend !== '0') o.backend = v.backend;
  if (v.rate !== undefined) o.rate = v.rate;
  if (v.devid !== index) o.devid = v.devid;
  if (v.mtu !== 1500) o.mtu = v.mtu;
  if (!v.trusted) o.trusted = false;
  return o;
}

/** The keys and values to write, in schema order, defaults left out. Shared by both writers. */
function essentials(config: DomainConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: config.name, type: config.type };
  if (config.uuid !== undefined) o.uuid = config.uuid;
  o.memory = config.memory;
  if (config.maxmem !== config.memory) o.maxmem = config.maxmem;
  o.vcpus = config.vcpus;
  if (config.maxvcpus !== config.vcpus) o.maxvcpus = config.maxvcpus;
  if (config.cpus !== undefined) o.cpus = config.cpus;
  if (config.cpus_soft !== undefined) o.cpus_soft = config.cpus_soft;
  if (config.cpu_weight !== 256) o.cpu_weight = config.cpu_weight;
  if (config.cap !== 0) o.cap = config.cap;
  for (const [k, d] of Object.entries(ACTION_DEFAULTS)) {
    const v = config[k as keyof typeof ACTION_DEFAULTS];
    if (v !== d) o[k] = v;
  }
  if (config.viridian !== false) o.viridian = config.viridian;
  for (const k of ['kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'bootloader', 'bootloader_args'] as const) {
    if (config[k] !== undefined) o[k] = config[k];
  }
  if (config.max_event_channels !== 1023) o.max_event_channels = config.max_event_channels;
  if (config.max_grant_frames !== 64) o.max_grant_frames = config.max_grant_frames;
  if (config.max_maptrack_frames !== 1024) o.max_maptrack_frames = config.max_maptrack_frames;
  if (config.driver_domain) o.driver_domain = true;
  return o;
}

function xenemuObject(config: DomainConfig): Record<string, unknown> {
  const x: Record<string, unknown> = {};
  if (config.xenemu.hz !== 100) x.hz = config.xenemu.hz;
  if (config.xenemu.callback !== 'vector') x.callback = config.xenemu.callback;
  if (config.xenemu.events.length > 0) x.events = config.xenemu.events.map((e) => ({ ...e }));
  // Durations were read into milliseconds; written back with their unit, as a bare number reads as seconds.
  if (config.xenemu.faults.length > 0) {
    x.faults = config.xenemu.faults.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, k === 'duration' || k === 'delay' || k === 'every' ? `${v as number}ms` : v])));
  }
  return x;
}

/** A YAML document for the config (structured disks and vifs, defaults left out). */
export function toYaml(config: DomainConfig): string {
  const o = essentials(config);
  if (config.disk.length > 0) o.disk = config.disk.map(diskObject);
  if (config.vif.length > 0) o.vif = config.vif.map((v, i) => vifObject(config, v, i));
  const x = xenemuObject(config);
  if (Object.keys(x).length > 0) o.xenemu = x;
  return stringify(o, { lineWidth: 0, indentSeq: true });
}

function xlValue(v: unknown): string {
  if (typeof v === 'string') return quoteXlString(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[ ${v.map(xlValue).join(', ')} ]`;
  throw new TypeError(`no xl.cfg form for ${typeof v}`);
}

function xlList(key: string, items: string[]): string {
  if (items.length === 0) return `${key} = []`;
  return `${key} = [\n${items.map((i) => `    ${quoteXlString(i)},\n`).join('')}]`;
}

/** An xl.cfg for the config: spec strings for disks and vifs, xenemu.* keys for the extensions. */
export function toXlCfg(config: DomainConfig): string {
  const lines = Object.entries(essentials(config)).map(([k, v]) => `${k} = ${xlValue(v)}`);
  if (config.disk.length > 0) lines.push(xlList('disk', config.disk.map(formatDiskSpec)));
  if (config.vif.length > 0) lines.push(xlList('vif', config.vif.map((v, i) => formatVifSpec(v, vifDefaults(config, v, i)))));
  const x = xenemuObject(config);
  if (x.hz !== undefined) lines.push(`xenemu.hz = ${xlValue(x.hz)}`);
  if (x.callback !== undefined) lines.push(`xenemu.callback = ${xlValue(x.callback)}`);
  if (config.xenemu.events.length > 0) lines.push(xlList('xenemu.events', config.xenemu.events.map(formatEventSpec)));
  if (config.xenemu.faults.length > 0) lines.push(xlList('xenemu.faults', config.xenemu.faults.map(formatFaultSpec)));
  return `${lines.join('\n')}\n`;
}
