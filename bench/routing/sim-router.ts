import type { SimRequest } from './request.js';
import type { SimHost } from './sim-host.js';

/** A request placed on a host; `done` when its stream ends. */
export interface Ticket {
  host: number;
  done(now: number): void;
  /** Share of the request's prompt the router expected the host to hold, when it has an estimate. */
  predictedCachedShare?: number;
}

export interface SimRouter {
  readonly name: string;
  /** Undefined: no host has room; the gateway queues the request and retries when a stream ends. */
  route(request: SimRequest, now: number): Ticket | undefined;
  /** The gateway's periodic /api/ps poll of every host. */
  poll?(now: number): void;
  /** Counters that explain the router's decisions, printed under the tables. */
  diagnostics?(): Record<string, number>;
}

export interface RouterContext {
  hostCount: number;
  seed: number;
  /** The workload's models and each one's share of its sessions. */
  models: readonly { name: string; share: number }[];
  /** Hosts that list the model (all of them here); "loaded" is a separate matter. */
  eligible(model: string): readonly number[];
  /**
   * The simulated hosts. Only chatwire's adapter reads them, for what /api/ps would report and for its
   * diagnostics; no router decides by them directly.
   */
  hosts: readonly SimHost[];
}

export type RouterFactory = (context: RouterContext) => SimRouter;

/** In-flight counts a router keeps from its own sends and their ends, as a proxy sees them. */
export class InFlight {
  readonly counts: number[];

  constructor(hostCount: number) {
    this.counts = new Array<number>(hostCount).fill(0);
  }

  ticket(host: number): Ticket {
    this.counts[host] = (this.counts[host] ?? 0) + 1;
    return {
      host,
      done: () => {
        this.counts[host] = (this.counts[host] ?? 1) - 1;
      },
    };
  }
}
