import { InFlight, type RouterFactory } from '../sim-router.js';

/** Points per host on the ring, so each host owns many small arcs and keys spread evenly. */
const VIRTUAL_NODES = 256;
/** A host may carry this much more than the mean load before keys move on to the next host on the ring. */
const LOAD_FACTOR = 1.25;

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // FNV alone leaves similar keys close together on the ring; a murmur finaliser scatters them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * KubeAI's CHWBL on the conversation id: the first host clockwise from the key's hash whose load stays
 * within LOAD_FACTOR × the mean (counting this request), so a conversation keeps its host until that host
 * is overloaded.
 */
export const chwblRouter: RouterFactory = (context) => {
  const inFlight = new InFlight(context.hostCount);
  const ring: { point: number; host: number }[] = [];
  for (let host = 0; host < context.hostCount; host++) {
    for (let v = 0; v < VIRTUAL_NODES; v++) ring.push({ point: hash32(`host-${host}#${v}`), host });
  }
  ring.sort((a, b) => a.point - b.point);

  return {
    name: 'chwbl',
    route: (request) => {
      const eligible = context.eligible(request.model);
      let total = 0;
      for (const host of eligible) total += inFlight.counts[host] ?? 0;
      const bound = Math.ceil((LOAD_FACTOR * (total + 1)) / eligible.length);
      const key = hash32(request.sessionId);
      let low = 0;
      let high = ring.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((ring[mid] as { point: number }).point < key) low = mid + 1;
        else high = mid;
      }
      for (let step = 0; step < ring.length; step++) {
        const { host } = ring[(low + step) % ring.length] as { host: number };
        if (eligible.includes(host) && (inFlight.counts[host] ?? 0) + 1 <= bound)
          return inFlight.ticket(host);
      }
      return inFlight.ticket(eligible[0] as number);
    },
  };
};
