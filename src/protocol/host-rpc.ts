import type { FaultSummary } from './fault-rpc.js';
import type * as z from 'zod';
import type { RecoveryReport } from '../state/last-start.js';
import { NoParams } from './params.js';

/** The daemon's own methods: liveness, status and stop. None takes parameters. */
export const HostParams = {
  ping: NoParams,
  'host.status': NoParams,
  'host.stop': NoParams,
} satisfies Record<string, z.ZodType>;

/** What `host.status` answers. */
export interface HostStatus {
  pid: number;
  version: string;
  home: string;
  socket: string;
  socketRo: string;
  control: string;
  startedAt: string;
  uptimeSeconds: number;
  nodes: number;
  connections: number;
  domains: number;
  rssBytes: number;
  /** `journal` is the barrier's health ('ok', or what fails since when), then the backend's figures. */
  persistence: Record<string, number | string>;
  /** This start's recovery: what was replayed, and any damage found and set aside. */
  recovery: RecoveryReport | null;
  /** Faults in force (`xenemu fault list` has the details). */
  faults: FaultSummary[];
}

type None = z.output<typeof NoParams>;

/** The host family's table: what each method answers. */
export type HostRpc = {
  ping: { params: None; result: { pong: true } };
  'host.status': { params: None; result: HostStatus };
  'host.stop': { params: None; result: { stopping: true } };
};
