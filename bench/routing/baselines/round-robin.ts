import type { RouterFactory } from '../sim-router.js';

/** The next host in turn among those listing the model. */
export const roundRobinRouter: RouterFactory = (context) => {
  let turn = 0;
  return {
    name: 'round-robin',
    route: (request) => {
      const eligible = context.eligible(request.model);
      return { host: eligible[turn++ % eligible.length] as number, done: () => {} };
    },
  };
};
