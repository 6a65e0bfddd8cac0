import type { XsClient } from '../../src/protocol/xs-client.js';

/**
 * A stand-in for a block backend that only moves its `state` node, for testing the
 * toolstack's side on its own: Initialising → InitWait when a device appears (unless
 * `initWait` is false), Closing → Closed when the toolstack asks (unless `close` is
 * false). It serves the backend folder of `backendDomid`, which should be a domain
 * with no kernel of its own running (one created paused), so no real blkback competes.
 */
export async function fakeVbdBackend(xs: XsClient, backendDomid: number, options: { initWait?: boolean; close?: boolean } = {}): Promise<() => Promise<void>> {
  const root = `/local/domain/${backendDomid}/backend/vbd`;
  const token = `fake-vbd-${backendDomid}-${Math.random()}`;
  const list = (p: string): Promise<string[]> => xs.directory(p).catch(() => [] as string[]);
  const scan = async (): Promise<void> => {
    for (const fe of await list(root)) {
      for (const dev of await list(`${root}/${fe}`)) {
        // In a transaction, so a device removed meanwhile is not brought back by the write.
        await xs
          .transaction(async (tx) => {
            const state = await xs.read(`${root}/${fe}/${dev}/state`, tx).then(
              (b) => b.toString(),
              () => null,
            );
            const next = state === '1' && options.initWait !== false ? '2' : state === '5' && options.close !== false ? '6' : null;
            if (next !== null) await xs.write(`${root}/${fe}/${dev}/state`, next, tx);
          })
          .catch(() => {});
      }
    }
  };
  await xs.watch(root, token, () => void scan());
  return () => xs.unwatch(root, token);
}
