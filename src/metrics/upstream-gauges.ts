import { Gauge, type Registry } from 'prom-client';
import type { HealthState } from '../upstream/pool/host-health.js';
import type { UpstreamPool } from '../upstream/pool/upstream-pool.js';

const STATES: HealthState[] = ['healthy', 'ejected', 'probing'];

/**
 * The pool's current state, read from it at scrape time (nothing to keep in step on the hot path): the
 * wait queue, and per configured host its health state, streams in flight and stream limit.
 */
export function registerUpstreamGauges(registry: Registry, pool: UpstreamPool): void {
  new Gauge({
    name: 'chatwire_queued_requests',
    help: 'Requests waiting for an upstream host with room.',
    registers: [registry],
    collect() {
      this.set(pool.queueLength);
    },
  });
  new Gauge({
    name: 'chatwire_upstream_state',
    help: "Each host's health: 1 for its current state (healthy, ejected, probing), 0 for the others.",
    labelNames: ['upstream', 'state'] as const,
    registers: [registry],
    collect() {
      for (const host of pool.status()) {
        for (const state of STATES) this.set({ upstream: host.name, state }, host.state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'chatwire_upstream_in_flight_streams',
    help: 'Streams each host is running now.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      for (const host of pool.status()) this.set({ upstream: host.name }, host.inFlight);
    },
  });
  new Gauge({
    name: 'chatwire_upstream_max_streams',
    help: "Each host's stream limit (maxStreams); hosts without one are not listed.",
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      for (const host of pool.status()) {
        if (host.maxStreams !== null) this.set({ upstream: host.name }, host.maxStreams);
      }
    },
  });
}
