import test from 'ava';
import { RingProtocolError } from '../../src/abi/errors.js';
import { DaemonError } from '../../src/client/daemon.js';
import { RpcCallError } from '../../src/client/rpc-client.js';
import { XsRequestError } from '../../src/protocol/xs-client.js';
import { XenemuError } from '../../src/common/errors.js';
import { XlFailure } from '../../src/compat/xl-commands.js';
import { rpcErrorOf } from '../../src/host/control-server.js';
import { HypervisorError } from '../../src/hypervisor/hypervisor.js';
import { IntrError } from '../../src/kernel/intr/errors.js';
import { StateDirError } from '../../src/state/state-dir.js';
import { ConfigError } from '../../src/toolstack/config/errors.js';
import { ToolstackError } from '../../src/toolstack/errors.js';
import { XsError } from '../../src/xenstore/errors.js';

// Every layer's error reaches a control client as {code, message} through one
// translation (rpcErrorOf), and a CLI user as cliMessage() with exitStatus.

const config = ConfigError.at({ file: 'web.yaml', line: 3, column: 9 }, 'memory', 'must be a number of MiB');

const ROWS: [string, unknown, { code: string; message: string; internal: boolean }, { cli: string; status: number } | null][] = [
  ['toolstack', new ToolstackError('ESRCH', "domain 'x' does not exist"), { code: 'ESRCH', message: "domain 'x' does not exist", internal: false }, { cli: "xenemu: domain 'x' does not exist", status: 1 }],
  ['hypervisor', new HypervisorError('ENOMEM', 'not enough free memory'), { code: 'ENOMEM', message: 'not enough free memory', internal: false }, { cli: 'xenemu: not enough free memory', status: 1 }],
  ['interrupt layer', new IntrError('EOPNOTSUPP', 'events are not per-vCPU'), { code: 'EOPNOTSUPP', message: 'events are not per-vCPU', internal: false }, null],
  ['xenstored', new XsError('ENOENT'), { code: 'ENOENT', message: 'ENOENT', internal: false }, null],
  ['xenstore client', new XsRequestError('EACCES', 'READ /local'), { code: 'EACCES', message: 'READ /local: EACCES', internal: false }, { cli: 'xenemu: READ /local: EACCES', status: 1 }],
  ['control client', new RpcCallError('ESRCH', 'no such domain'), { code: 'ESRCH', message: 'no such domain', internal: false }, { cli: 'xenemu: no such domain', status: 1 }],
  ['daemon start', new DaemonError('the daemon did not start'), { code: 'EIO', message: 'the daemon did not start', internal: false }, { cli: 'xenemu: the daemon did not start', status: 1 }],
  ['state dir', new StateDirError('state dir is a symlink'), { code: 'EINVAL', message: 'state dir is a symlink', internal: false }, { cli: 'xenemu: state dir is a symlink', status: 1 }],
  ['config', config, { code: 'EINVAL', message: config.message, internal: false }, { cli: 'web.yaml:3:9: memory: must be a number of MiB', status: 1 }],
  ['xl', new XlFailure('Unable to create domain\n', 3), { code: 'XL_FAILURE', message: 'Unable to create domain', internal: false }, { cli: 'xenemu: Unable to create domain', status: 3 }],
  ['guest ring', new RingProtocolError('RINGIDX', 'xenstore', 9000, 0, 1024), { code: 'RINGIDX', message: new RingProtocolError('RINGIDX', 'xenstore', 9000, 0, 1024).message, internal: false }, null],
  ['bad JSON', new SyntaxError('Unexpected token'), { code: 'EINVAL', message: 'bad request: Unexpected token', internal: false }, null],
  ['a bug', new TypeError('x is undefined'), { code: 'EIO', message: 'x is undefined', internal: true }, null],
];

for (const [what, err, rpc, cli] of ROWS) {
  test(`${what}: ${rpc.code} on the control socket${cli ? `, exit ${cli.status} on the CLI` : ''}`, (t) => {
    t.deepEqual(rpcErrorOf(err), rpc);
    t.is(err instanceof XenemuError, !rpc.internal && !(err instanceof SyntaxError));
    if (cli !== null) {
      const e = err as XenemuError;
      t.is(e.cliMessage(), cli.cli);
      t.is(e.exitStatus, cli.status);
    }
  });
}
