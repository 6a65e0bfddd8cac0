import type { EthernetLink } from './link.js';

/** Anything that takes a copy of a frame: a PcapWriter, a counter in a test. */
export interface FrameSink {
  write(frame: Uint8Array): void;
}

/**
 * Put a capture on a link: the returned link is `inner` as its user sees it, and
 * every frame that crosses it in either direction also goes to `sink`. A frame sent
 * is recorded before it is handed on, as Linux's packet taps see a frame in
 * dev_queue_xmit before the driver may drop it: so the capture keeps the order of
 * cause and effect even when the answer comes back within send(). `inner.onFrame`
 * belongs to the tap from here on.
 */
export function tapLink(inner: EthernetLink, sink: FrameSink): EthernetLink {
  const tap: EthernetLink = {
    send(frame) {
      sink.write(frame);
      return inner.send(frame);
    },
    onFrame: null,
  };
  inner.onFrame = (frame) => {
    sink.write(frame);
    tap.onFrame?.(frame);
  };
  return tap;
}
