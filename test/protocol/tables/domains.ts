/**
 * Domain management (INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET,
 * GET_DOMAIN_PATH), the special watches @introduceDomain/@releaseDomain, CONTROL,
 * GET/SET_QUOTA, GET/SET_FEATURE and unknown request types, as dom0 sees them.
 *
 * Domain ids 31001+ are used so that a shared peer's real domains are never touched;
 * domain 0 is never introduced or released on a peer (RELEASE 0 makes oxenstored 4.17
 * delete every node dom0 owns, i.e. the whole store).
 */
import type { RowGroup } from '../../helpers/xs-rows.js';

const OK = 'OK\0';
const AB = { A: { domid: 0 }, B: { domid: 0 } };

const SPECIAL_DEPTH = 'WATCH with a depth is implemented here per xenstore.txt; oxenstored 4.17 answers EINVAL';
const PER_DOMAIN = 'xenemu fires @releaseDomain/<domid> watches (xenstore.txt); oxenstored 4.17 knows only the two plain special paths';
const ENOSYS_QUOTA = 'GET/SET_QUOTA are implemented here per xenstore.txt; oxenstored 4.17 answers ENOSYS';
const ENOSYS_FEATURE = 'GET/SET_FEATURE are implemented here per xenstore.txt; oxenstored 4.17 answers ENOSYS';
const CONTROL_TEXT = 'CONTROL help and quota without arguments answer with text here; oxenstored 4.17 answers OK';

const NO_HYPERVISOR =
  'the reference peer runs without a hypervisor: its INTRODUCE fails half-way (EINVAL, with the domain half-created) and a later RELEASE answers ENOENT, so rows that need an introduced domain run on the engine only';

const HALF_INTRODUCED =
  'the reference peer runs without a hypervisor: its INTRODUCE answers EINVAL yet leaves the domain in its table (all RESUME looks at), and its RELEASE then answers ENOENT';

export const domainGroups: RowGroup[] = [
  {
    name: 'INTRODUCE, IS_DOMAIN_INTRODUCED, RESUME, RELEASE and their special events',
    engineOnly: NO_HYPERVISOR,
    conns: AB,
    rows: [
      { c: 'B', op: 'WATCH', p: '@introduceDomain\0ti\0', want: OK, ev: [['B', '@introduceDomain', 'ti']] },
      { c: 'B', op: 'WATCH', p: '@releaseDomain\0tr\0', want: OK, ev: [['B', '@releaseDomain', 'tr']] },
      { op: 'IS_DOMAIN_INTRODUCED', p: '31001\0', want: 'F\0' },
      { op: 'INTRODUCE', p: '31001\x00123\x004\0', want: OK, ev: [['B', '@introduceDomain', 'ti']] },
      { op: 'IS_DOMAIN_INTRODUCED', p: '31001\0', want: 'T\0' },
      { op: 'INTRODUCE', p: '31001\x00123\x005\0', want: OK, note: 'again with the same page: rebinds, no event' },
      { op: 'INTRODUCE', p: '31001\x00124\x005\0', want: '!EINVAL', note: 'again with another page' },
      {
        op: 'INTRODUCE',
        p: '31002\x00123\x004',
        want: OK,
        ev: [['B', '@introduceDomain', 'ti']],
        note: 'the NUL after the port may be missing: oxenstored (domid :: gfn :: port :: _) and C xenstored (get_strings) both accept three fields',
      },
      { op: 'RESUME', p: '31001\0', want: OK },
      { op: 'RELEASE', p: '31001\0', want: OK, ev: [['B', '@releaseDomain', 'tr']] },
      { op: 'IS_DOMAIN_INTRODUCED', p: '31001\0', want: 'F\0' },
      { op: 'RELEASE', p: '31001\0', want: '!EINVAL', note: 'released twice' },
      { op: 'RESUME', p: '31001\0', want: '!EINVAL' },
      { op: 'RELEASE', p: '31003\0', want: '!EINVAL', note: 'never introduced' },
      { op: 'INTRODUCE', p: '31003\x00123\x004\0', want: OK, ev: [['B', '@introduceDomain', 'ti']] },
      { op: 'RELEASE', p: '31003\0', want: OK, ev: [['B', '@releaseDomain', 'tr']] },
      { c: 'B', op: 'RESET_WATCHES', p: '\0', want: OK },
    ],
  },
  {
    name: 'domain management: refused requests',
    conns: AB,
    rows: [
      { op: 'IS_DOMAIN_INTRODUCED', p: '31001\0', want: 'F\0' },
      { op: 'IS_DOMAIN_INTRODUCED', p: 'x\0', want: '!EINVAL', note: 'not a number' },
      { op: 'IS_DOMAIN_INTRODUCED', p: '0\0', want: 'F\0', note: 'dom0 is not introduced on a socket-only daemon' },
      { op: 'INTRODUCE', p: '31003\x00123\0', want: '!EINVAL', note: 'no port' },
      { op: 'INTRODUCE', p: 'x\x00123\x004\0', want: '!EINVAL', note: 'domid not a number' },
      {
        op: 'INTRODUCE',
        p: '31003\0zz\x004\0',
        want: '!EINVAL',
        note: 'gfn not a number',
        differs: 'oxenstored 4.17 answers EIO: its error mapping catches Failure "int_of_string" but not the Failure "Nativeint.of_string" the gfn parse raises; EINVAL is the answer for a malformed argument',
      },
      { op: 'INTRODUCE', p: '31003\x00123\0zz\0', want: '!EINVAL', note: 'port not a number' },
      { op: 'IS_DOMAIN_INTRODUCED', p: '31003\0', want: 'F\0' },
      { op: 'RESUME', p: '31003\0', want: '!EINVAL', note: 'not introduced' },
      { op: 'RELEASE', p: '31003\0', want: '!EINVAL', note: 'not introduced' },
      { op: 'RELEASE', p: '31003', want: '!EINVAL', note: 'no trailing NUL' },
      { op: 'RELEASE', p: '31003\0x\0', want: '!EINVAL', note: 'extra argument' },
      { op: 'SET_TARGET', p: '31013\x0031012\0', want: '!ENOENT', note: 'the domain must be introduced' },
      { op: 'SET_TARGET', p: '31011\0', want: '!EINVAL', note: 'one argument' },
      { op: 'SET_TARGET', p: '31011\x0031012', want: '!EINVAL', note: 'no trailing NUL' },
      { op: 'SET_TARGET', p: '31011\x0031012\0x\0', want: '!EINVAL', note: 'extra argument' },
    ],
  },
  {
    name: 'IS_DOMAIN_INTRODUCED takes exactly one argument',
    rows: [
      {
        op: 'IS_DOMAIN_INTRODUCED',
        p: '31009',
        want: '!EINVAL',
        note: 'no trailing NUL',
        differs: 'xenemu insists on <domid>| (xenstore.txt); oxenstored 4.17 reads the first field however the payload ends',
      },
      {
        op: 'IS_DOMAIN_INTRODUCED',
        p: '31009\0junk\0',
        want: '!EINVAL',
        note: 'extra argument',
        differs: 'xenemu insists on <domid>| (xenstore.txt); oxenstored 4.17 ignores extra fields',
      },
    ],
  },
  {
    // Compared with the real oxenstored (scripts/differential): see HALF_INTRODUCED.
    name: 'RESUME reads its domid as oxenstored does (OCaml int_of_string, first field) and changes nothing',
    rows: [
      { op: 'INTRODUCE', p: '31020\x00123\x004\0', want: OK, differs: HALF_INTRODUCED },
      { op: 'RESUME', p: '31020\0', want: OK },
      { op: 'RESUME', p: '31020', want: OK, note: 'no trailing NUL' },
      { op: 'RESUME', p: '31020\0junk\0', want: OK, note: 'what follows the first field is ignored' },
      { op: 'RESUME', p: '031020\0', want: OK, note: 'a leading zero is decimal, not octal' },
      { op: 'RESUME', p: '+31020\0', want: OK, note: 'a plus sign' },
      { op: 'RESUME', p: '0x792c\0', want: OK, note: 'hexadecimal' },
      { op: 'RESUME', p: '31_020\0', want: OK, note: 'an underscore between digits' },
      { op: 'RESUME', p: '31020 \0', want: '!EINVAL', note: 'a trailing space' },
      { op: 'RESUME', p: '_31020\0', want: '!EINVAL', note: 'an underscore first' },
      { op: 'RESUME', p: '0x\0', want: '!EINVAL', note: 'a prefix without digits' },
      { op: 'RESUME', p: '-31020\0', want: '!EINVAL', note: 'negative: no such domain' },
      { op: 'RESUME', p: '9223372036854775807\0', want: '!EINVAL', note: 'beyond OCaml\'s int' },
      {
        op: 'RESUME',
        p: '\0',
        want: '!EINVAL',
        note: 'an empty domid (oxenstored 4.17 answers EINVAL too)',
        engineOnly: 'scripts/differential refuses an empty domid, which reads as domain 0',
      },
      { op: 'RESUME', p: '31022\0', want: '!EINVAL', note: 'not introduced' },
      { op: 'IS_DOMAIN_INTRODUCED', p: '31020\0', want: 'T\0', note: 'RESUME changed nothing' },
      { op: 'RELEASE', p: '31020\0', want: OK, differs: HALF_INTRODUCED },
      { op: 'RESUME', p: '31020\0', want: '!EINVAL', note: 'released' },
    ],
  },
  {
    name: 'special watches with depth 1 and per-domain @releaseDomain/<domid>',
    engineOnly: `${SPECIAL_DEPTH}; ${PER_DOMAIN}; and ${NO_HYPERVISOR}`,
    conns: AB,
    rows: [
      { c: 'B', op: 'WATCH', p: '@introduceDomain\0ti1\x001\0', want: OK, ev: [['B', '@introduceDomain', 'ti1']] },
      { c: 'B', op: 'WATCH', p: '@releaseDomain\0tr1\x001\0', want: OK, ev: [['B', '@releaseDomain', 'tr1']] },
      { c: 'B', op: 'WATCH', p: '@releaseDomain/31005\0tr5\0', want: OK, ev: [['B', '@releaseDomain/31005', 'tr5']] },
      { c: 'B', op: 'WATCH', p: '@releaseDomain/31006\0tr6\0', want: OK, ev: [['B', '@releaseDomain/31006', 'tr6']] },
      { op: 'INTRODUCE', p: '31005\x001\x001\0', want: OK, ev: [['B', '@introduceDomain/31005', 'ti1']] },
      { op: 'INTRODUCE', p: '31006\x001\x001\0', want: OK, ev: [['B', '@introduceDomain/31006', 'ti1']] },
      { op: 'RELEASE', p: '31005\0', want: OK, ev: [['B', '@releaseDomain/31005', 'tr1'], ['B', '@releaseDomain/31005', 'tr5']] },
      { op: 'RELEASE', p: '31006\0', want: OK, ev: [['B', '@releaseDomain/31006', 'tr1'], ['B', '@releaseDomain/31006', 'tr6']] },
      { c: 'B', op: 'RESET_WATCHES', p: '\0', want: OK },
    ],
  },
  {
    name: 'INTRODUCE and RELEASE of domain 0',
    engineOnly: 'RELEASE 0 wipes an oxenstored 4.17 store (it deletes every node of the released domain, and dom0 owns them all)',
    rows: [
      { op: 'INTRODUCE', p: '0\x001\x001\0', want: '!EINVAL', note: 'xenstore.txt: <domid> must be a real domain id (not 0); oxenstored answers EINVAL too' },
      { op: 'IS_DOMAIN_INTRODUCED', p: '0\0', want: 'F\0' },
      { op: 'RELEASE', p: '0\0', want: '!EINVAL', note: 'not introduced' },
      { op: 'READ', p: '/tool/xenstored\0', want: '/usr/lib/xenemu/xenstored', note: 'the store is intact' },
    ],
  },
  {
    name: 'SET_TARGET',
    engineOnly: NO_HYPERVISOR,
    conns: AB,
    rows: [
      { op: 'INTRODUCE', p: '31011\x001\x001\0', want: OK },
      { op: 'SET_TARGET', p: '31011\x0031012\0', want: OK, note: 'the target need not exist' },
      { op: 'SET_TARGET', p: '31013\x0031012\0', want: '!ENOENT', note: 'the domain must be introduced' },
      { op: 'RELEASE', p: '31011\0', want: OK },
      { op: 'SET_TARGET', p: '31011\x0031012\0', want: '!ENOENT', note: 'released' },
    ],
  },
  {
    name: 'GET_DOMAIN_PATH',
    rows: [
      { op: 'GET_DOMAIN_PATH', p: '5\0', want: '/local/domain/5\0' },
      { op: 'GET_DOMAIN_PATH', p: '0\0', want: '/local/domain/0\0' },
      { op: 'GET_DOMAIN_PATH', p: '65535\0', want: '/local/domain/65535\0', note: 'need not exist' },
      { op: 'GET_DOMAIN_PATH', p: '007\0', want: '/local/domain/7\0', note: 'normalised' },
      { op: 'GET_DOMAIN_PATH', p: '7x\0', want: '/local/domain/7\0', note: 'oxenstored reads the first run of digits' },
      { op: 'GET_DOMAIN_PATH', p: 'x7\0', want: '/local/domain/7\0' },
      { op: 'GET_DOMAIN_PATH', p: '-5\0', want: '/local/domain/5\0' },
      { op: 'GET_DOMAIN_PATH', p: 'abc\0', want: '/local/domain/0\0', note: 'no digits at all' },
      { op: 'GET_DOMAIN_PATH', p: '\0', want: '/local/domain/0\0' },
      { op: 'GET_DOMAIN_PATH', p: '4294967301\0', want: '/local/domain/4294967301\0', note: 'no wrap at 2^32' },
      { op: 'GET_DOMAIN_PATH', p: '5', want: '!EINVAL', note: 'no trailing NUL' },
      { op: 'GET_DOMAIN_PATH', p: '5\x006\0', want: '!EINVAL', note: 'extra argument' },
    ],
  },
  {
    name: 'CONTROL',
    rows: [
      { op: 'CONTROL', p: 'print\0hello from the protocol tests\0', want: OK },
      { op: 'CONTROL', p: 'check\0', want: OK },
      { op: 'CONTROL', p: 'log\0on\0', want: OK },
      { op: 'CONTROL', p: 'nosuchcmd\0', want: OK, note: 'unknown commands are OK, as on oxenstored' },
      { op: 'CONTROL', p: '\0', want: OK, note: 'no command' },
      { op: 'CONTROL', p: 'quota\0abc\0', want: OK, note: 'quota of a non-number' },
      { op: 'CONTROL', p: 'quota\x0031021\0', want: 'dom31021 quota: not set\0', note: 'a domain owning nothing' },
      { op: 'CONTROL', p: 'help\0', want: /^CONTROL check .*list every watch\\x0a\\0$/, differs: CONTROL_TEXT },
      { op: 'CONTROL', p: 'quota\0', want: /^CONTROL nodes +: 1000\\x0awatches +: 100\\x0a/, differs: CONTROL_TEXT },
      {
        op: 'CONTROL',
        p: 'quota\0set\0nodes\0',
        want: '!EINVAL',
        differs: 'CONTROL quota set (xenstore.txt) is implemented here and checks its arguments; oxenstored 4.17 ignores it',
      },
      {
        op: 'CONTROL',
        p: 'memreport\0',
        want: /^CONTROL nodes: \d+\\x0anode bytes: \d+\\x0aconnections: \d+\\x0a/,
        differs: 'xenemu answers memreport with the report (plus the host\'s figures); oxenstored 4.17 logs it and answers OK. xenstore.txt: "print memory statistics to logfile"',
      },
      { op: 'CONTROL', p: 'watches\0', want: '\0', engineOnly: 'lists every connection\'s watches: a shared peer has others' },
      { op: 'CONTROL', p: 'quota\x000\0', want: 'dom0 quota: 7/1000\0', engineOnly: 'node counts of a shared peer are not ours' },
    ],
  },
  {
    name: 'GET_QUOTA and SET_QUOTA (not in oxenstored 4.17)',
    rows: [
      { op: 'GET_QUOTA', p: '\0', want: 'nodes watches transactions node-size permissions outstanding transaction-nodes path-max\0', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: 'nodes\0', want: '1000\0', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: 'node-size\0', want: '2048\0', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: 'path-max\0', want: '1024\0', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: 'bogus\0', want: '!EINVAL', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: '31031\0nodes\0', want: '1000\0', differs: ENOSYS_QUOTA, note: 'a domain inherits the global value' },
      { op: 'SET_QUOTA', p: '31031\0nodes\x003\0', want: OK, differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: '31031\0nodes\0', want: '3\0', differs: ENOSYS_QUOTA },
      { op: 'GET_QUOTA', p: 'nodes\0', want: '1000\0', differs: ENOSYS_QUOTA, note: 'the global value is unchanged' },
      { op: 'SET_QUOTA', p: 'nodes\0abc\0', want: '!EINVAL', differs: ENOSYS_QUOTA },
      { op: 'SET_QUOTA', p: 'bogus\x001\0', want: '!EINVAL', differs: ENOSYS_QUOTA },
      { op: 'SET_QUOTA', p: 'nodes\0', want: '!EINVAL', differs: ENOSYS_QUOTA, note: 'no value' },
      { op: 'SET_QUOTA', p: '1\0nodes\x001\x001\0', want: '!EINVAL', differs: ENOSYS_QUOTA, note: 'too many arguments' },
      { op: 'GET_QUOTA', p: '1\0nodes\x001\0', want: '!EINVAL', differs: ENOSYS_QUOTA, note: 'too many arguments' },
    ],
  },
  {
    name: 'GET_QUOTA and SET_QUOTA change the engine\'s limits',
    engineOnly: 'SET_QUOTA of global values would change a shared peer (it is ENOSYS there anyway)',
    rows: [
      { op: 'SET_QUOTA', p: 'node-size\x0010\0', want: OK },
      { op: 'WRITE', p: '$R/a\x0012345678901', want: '!E2BIG', note: 'the global node size binds dom0' },
      { op: 'WRITE', p: '$R/a\x001234567890', want: OK },
      { op: 'SET_QUOTA', p: 'node-size\x000\0', want: OK, note: '0 disables the check' },
      { op: 'WRITE', p: `$R/a\0${'x'.repeat(3000)}`, want: OK },
      { op: 'GET_QUOTA', p: 'node-size\0', want: '0\0' },
      { op: 'CONTROL', p: 'quota\0set\0node-size\x002048\0', want: OK },
      { op: 'GET_QUOTA', p: 'node-size\0', want: '2048\0' },
      { op: 'RM', p: '$R\0', want: OK },
    ],
  },
  {
    name: 'GET_FEATURE and SET_FEATURE (not in oxenstored 4.17)',
    rows: [
      { op: 'GET_FEATURE', p: '\0', want: '7\0', differs: ENOSYS_FEATURE, note: 'reconnection, error indicator, watch depth' },
      { op: 'GET_FEATURE', p: '31041\0', want: '7\0', differs: ENOSYS_FEATURE },
      { op: 'SET_FEATURE', p: '31041\x001\0', want: OK, differs: ENOSYS_FEATURE },
      { op: 'GET_FEATURE', p: '31041\0', want: '1\0', differs: ENOSYS_FEATURE },
      { op: 'SET_FEATURE', p: '31041\x008\0', want: '!EINVAL', differs: ENOSYS_FEATURE, note: 'an unsupported bit' },
      { op: 'SET_FEATURE', p: '31041\0', want: '!EINVAL', differs: ENOSYS_FEATURE, note: 'no value' },
      { op: 'INTRODUCE', p: '31041\x001\x001\0', want: OK, engineOnly: NO_HYPERVISOR },
      { op: 'SET_FEATURE', p: '31041\x003\0', want: '!EBUSY', engineOnly: NO_HYPERVISOR, note: 'after INTRODUCE' },
      { op: 'RELEASE', p: '31041\0', want: OK, engineOnly: NO_HYPERVISOR },
      { op: 'GET_FEATURE', p: '31041\0', want: '7\0', engineOnly: NO_HYPERVISOR, note: 'forgotten with the domain' },
    ],
  },
  {
    name: 'unknown and reply-only request types',
    rows: [
      { op: 99, p: 'x\0', want: '!ENOSYS' },
      { op: 20, p: '5\0', want: '!ENOSYS', note: 'XS_RESTRICT was removed from the ABI' },
      { op: 'WATCH_EVENT', p: '/\0t\0', want: '!ENOSYS', note: 'a reply type sent as a request' },
      { op: 'ERROR', p: 'EINVAL\0', want: '!ENOSYS' },
      { op: 27, p: '\0', want: '!ENOSYS' },
      { op: 0x7fffffff, p: '\0', want: '!ENOSYS' },
      { op: 0xffffffff, p: '\0', want: '!ENOSYS' },
      { op: 99, p: 'x\0', reqId: 0xffffffff, want: '!ENOSYS', note: 'req_id is echoed whatever it is' },
      { op: 'READ', p: '/\0', reqId: 0, want: '', note: 'req_id 0' },
    ],
  },
];
