import { Prng } from '../prng.js';
import type { RouterFactory } from '../sim-router.js';

/** Open WebUI's choice: any host that lists the model, uniformly, blind to load and cache. */
export const randomRouter: RouterFactory = (context) => {
  const random = new Prng(context.seed).fork(0x4a4d);
  return {
    name: 'random',
    route: (request) => ({ host: random.pick(context.eligible(request.model)), done: () => {} }),
  };
};
