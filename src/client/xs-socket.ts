import { connect, type Socket } from 'node:net';
import { XsClient, type XsTransport } from '../protocol/xs-client.js';

/** The unix socket as a transport for the XenStore client: what tools use. */
export function socketTransport(socket: Socket): XsTransport {
  return {
    write: (bytes) => void socket.write(bytes),
    attach(onData, onClose) {
      socket.on('data', onData);
      socket.on('error', onClose);
      socket.on('close', () => onClose(new Error('xenstored closed the connection')));
    },
    close: () => socket.destroy(),
  };
}

/** Open xenstored's unix socket at `path` and put a XenStore client on it. */
export function connectXsClient(path: string): Promise<XsClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(new XsClient(socketTransport(socket)));
    });
    socket.once('error', reject);
  });
}
