/** Placeholder until the xenstore tools land: nothing takes the fast path yet. */
export async function fastXenstore(_argv: string[]): Promise<boolean> {
  return false;
}
