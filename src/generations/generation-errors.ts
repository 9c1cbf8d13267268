import { GatewayError } from '../contracts/gateway-error.js';

/** The reasons a generation ends other than its upstream's own end; each becomes its terminal error frame. */
export const generationErrors = {
  stopped: (id: string) =>
    new GatewayError(
      'generation_stopped',
      499,
      `generation ${id} was stopped (POST /v1/generations/${id}/stop)`,
    ),
  memoryFull: (bytes: number) =>
    new GatewayError(
      'generation_stopped',
      507,
      `generation stopped: its client had left and the gateway's memory for kept frames (CHATWIRE_GENERATION_MAX_BYTES=${bytes}) was full`,
    ),
  detachTimeout: (ms: number) =>
    new GatewayError(
      'generation_stopped',
      504,
      `generation stopped: its client left more than CHATWIRE_DETACH_MS=${ms} ms ago (a detached generation runs at most that long without it)`,
    ),
  lost: (id: string) =>
    new GatewayError(
      'generation_lost',
      502,
      `generation ${id} was lost: the instance producing it stopped answering; the frames before this one are all it produced`,
    ),
  evicted: (id: string, after: number) =>
    new GatewayError(
      'generation_evicted',
      410,
      `the frames of generation ${id} after ${after} are no longer kept (evicted to stay within the gateway's limits)`,
    ),
  fellBehind: () =>
    new GatewayError(
      'generation_evicted',
      410,
      'this client fell too far behind: the frames it had not read yet were evicted (resume to see what is kept)',
    ),
};
