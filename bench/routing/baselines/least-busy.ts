import { Prng } from '../prng.js';
import { InFlight, type RouterFactory } from '../sim-router.js';

/** LiteLLM's least-busy: the host with the fewest requests in flight from this proxy; ties at random. */
export const leastBusyRouter: RouterFactory = (context) => {
  const inFlight = new InFlight(context.hostCount);
  const random = new Prng(context.seed).fork(0x1b5e);
  return {
    name: 'least-busy',
    route: (request) => {
      let best: number[] = [];
      let fewest = Number.POSITIVE_INFINITY;
      for (const host of context.eligible(request.model)) {
        const count = inFlight.counts[host] ?? 0;
        if (count < fewest) {
          fewest = count;
          best = [host];
        } else if (count === fewest) best.push(host);
      }
      return inFlight.ticket(random.pick(best));
    },
  };
};
