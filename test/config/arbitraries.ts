import fc from 'fast-check';
import { diskTargetProblem, SHUTDOWN_ACTIONS, VIRIDIAN_ENLIGHTENMENTS } from '../../src/toolstack/config/schema.js';

/** Strings of any characters, spaces and controls included (not every writer quotes them alike). */
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
/** A spec value: no comma, no newline (xl cuts specs at commas). */
const specValue = fc.stringMatching(/^[A-Za-z0-9_.:=@/+ -]{1,12}$/);

const VDEVS = ['xvda', 'xvdb', 'xvdc2', 'xvdq', 'xvdaa', 'hda', 'hdc', 'sdb3', 'd5p1', 'd536p37', '51744'];
const RATES = ['10Mb/s', '250KB/s', '1MB/s@20ms', '8Gb/s@1s', '16000000b/s'];

const target = fc.stringMatching(/^[A-Za-z0-9_./, =:-]{1,24}$/).filter((t) => t.trim() !== '' && !t.endsWith(',') && diskTargetProblem(t) === undefined);

const disk = (vdev: string) =>
  fc.oneof(
    fc.record(
      {
        target,
        format: fc.constantFrom('raw', 'qcow2', 'vhd'),
        vdev: fc.constant(vdev),
        access: fc.constantFrom('ro', 'rw', 'r', 'w'),
        backend: fc.oneof(specValue, fc.nat({ max: 100 })),
        backendtype: fc.constantFrom('phy', 'qdisk'),
        script: specValue,
        'direct-io-safe': fc.boolean(),
        discard: fc.boolean(),
        trusted: fc.boolean(),
        specification: fc.constantFrom('xen', 'virtio'),
      },
      { requiredKeys: ['target', 'vdev'] },
    ),
    fc.record({ vdev: fc.constant(vdev), devtype: fc.constant('cdrom'), target: fc.option(target, { nil: undefined }) }, { requiredKeys: ['vdev', 'devtype'] }),
  );

const vif = (index: number) =>
  fc.record(
    {
      mac: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `00:16:3E:${a.toString(16)}:0${b % 10}:${(b >> 4).toString(16)}f`),
      bridge: specValue,
      gatewaydev: specValue,
      type: fc.constantFrom('vif', 'ioemu'),
      model: specValue,
      vifname: specValue,
      script: specValue,
      ip: specValue,
      backend: specValue,
      rate: fc.constantFrom(...RATES),
      devid: fc.constant(1000 + index),
      mtu: fc.integer({ min: 68, max: 65535 }),
      trusted: fc.boolean(),
    },
    { requiredKeys: [] },
  );

const cpuList = fc.constantFrom('all', '0-3', '0-3,^2', '1,3,5', 'all,^0', '7');

/** Input objects the schema accepts: every key, in every form, with awkward strings. */
export const domainConfigInput = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/),
    type: fc.constantFrom('pv', 'pvh', 'hvm'),
    uuid: fc.uuid(),
    memory: fc.integer({ min: 1, max: 65536 }),
    extraMem: fc.integer({ min: 0, max: 4096 }),
    vcpus: fc.integer({ min: 1, max: 8 }),
    extraVcpus: fc.integer({ min: 0, max: 8 }),
    cpus: fc.oneof(cpuList, fc.array(cpuList, { minLength: 1, maxLength: 3 })),
    cpus_soft: cpuList,
    cpu_weight: fc.integer({ min: 1, max: 65535 }),
    cap: fc.integer({ min: 0, max: 800 }),
    on_poweroff: fc.constantFrom(...SHUTDOWN_ACTIONS),
    on_reboot: fc.constantFrom(...SHUTDOWN_ACTIONS),
    on_crash: fc.constantFrom(...SHUTDOWN_ACTIONS),
    viridian: fc.oneof(fc.boolean(), fc.subarray(['defaults', 'all', ...VIRIDIAN_ENLIGHTENMENTS, '!hcall_ipi'])),
    kernel: anyText.filter((s) => s !== ''),
    cmdline: anyText,
    root: anyText,
    extra: anyText,
    bootloader_args: fc.array(anyText, { maxLength: 3 }),
    max_event_channels: fc.integer({ min: 1, max: 131071 }),
    driver_domain: fc.boolean(),
    disks: fc.uniqueArray(fc.constantFrom(...VDEVS), { maxLength: 4 }).chain((vdevs) => fc.tuple(...vdevs.map(disk))),
    vifCount: fc.integer({ min: 0, max: 3 }),
    hz: fc.integer({ min: 1, max: 10000 }),
    callback: fc.constantFrom('vector', 'pci-intx'),
    events: fc.uniqueArray(
      fc.record({ name: fc.stringMatching(/^[a-z0-9._-]{1,10}$/), rate: fc.oneof(fc.integer({ min: 1, max: 100000 }), fc.constantFrom(0.5, 2.25)), handler: fc.constantFrom('filter', 'ithread', 'both') }),
      { selector: (e) => e.name, maxLength: 3 },
    ),
  }, { requiredKeys: ['name', 'disks', 'vifCount', 'events', 'memory', 'extraMem', 'vcpus', 'extraVcpus'] })
  .chain((r) => fc.tuple(fc.constant(r), fc.tuple(...Array.from({ length: r.vifCount }, (_, i) => vif(i)))))
  .map(([r, vifs]) => {
    const { extraMem, extraVcpus, disks, vifCount: _n, hz, callback, events, ...rest } = r;
    const input: Record<string, unknown> = { ...rest, maxmem: r.memory + extraMem, maxvcpus: r.vcpus + extraVcpus, disk: disks, vif: vifs };
    const xenemu: Record<string, unknown> = { events: events.map((e, i) => (i % 2 === 0 ? e : { ...e, vcpu: 0 })) };
    if (hz !== undefined) xenemu.hz = hz;
    if (callback !== undefined) xenemu.callback = callback;
    input.xenemu = xenemu;
    return input;
  });
