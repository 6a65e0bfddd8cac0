/**
 * What hvc0 keeps outside its ring page, as plain JSON-able data. The ring's positions
 * (in/out cons and prod) are in the page and come with the memory image; what is here
 * is only the output waiting for room in the ring.
 *
 * The XenStore ring transport has no such shape: the bytes it holds outside the page
 * belong to requests in flight, whose replies a loaded client could not match (their
 * promises are the client's). A kernel saves its XenStore connection quiesced, as
 * FreeBSD's xs_suspend takes the request lock first, and then nothing is outside the page.
 */
export interface HvcConsoleState {
  /** Bytes queued for the peer that did not fit in the ring yet, base64. */
  backlog: string;
}
