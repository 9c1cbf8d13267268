import { InFlight, type RouterFactory } from '../sim-router.js';
import { TenantRadixTree } from './radix-tree.js';

/**
 * SGLang router's cache_aware defaults (https://docs.sglang.ai, router / SGLang Model Gateway docs):
 * --cache-threshold 0.5, --balance-abs-threshold 32, --balance-rel-threshold 1.0001,
 * --eviction-interval 60 (s), --max-tree-size 2^24 (characters there, tokens here).
 */
const CACHE_THRESHOLD = 0.5;
const BALANCE_ABS_THRESHOLD = 32;
const BALANCE_REL_THRESHOLD = 1.0001;
const EVICTION_INTERVAL_MS = 60_000;
const MAX_TREE_SIZE = 2 ** 24;

/**
 * Which of the hosts holding the longest match wins. The router's first releases took the first tenant of
 * the deepest node's map (`iter().next()`), whichever host that is; the current gateway takes the least
 * loaded holder. Both are here, the current one as the baseline the targets use.
 */
export type HolderChoice = 'least-loaded' | 'first-in-map';

/**
 * When loads are balanced, the host whose tree matches most of the request if the match covers more than
 * CACHE_THRESHOLD of it, else the host with the smallest tree; when imbalanced, the least loaded host.
 * Either way the request's text goes into the chosen host's tree. Trees are per model, as in SGLang's
 * multi-model gateway.
 */
export const sglangRouter =
  (holderChoice: HolderChoice): RouterFactory =>
  (context) => {
    const inFlight = new InFlight(context.hostCount);
    const trees = new Map<string, TenantRadixTree>();
    let lastEviction = 0;

    const treeFor = (model: string): TenantRadixTree => {
      let tree = trees.get(model);
      if (tree === undefined) {
        tree = new TenantRadixTree(context.hostCount, context.seed ^ (trees.size + 1));
        trees.set(model, tree);
      }
      return tree;
    };

    return {
      name: holderChoice === 'least-loaded' ? 'sglang' : 'sglang-first',
      route: (request, now) => {
        if (now - lastEviction >= EVICTION_INTERVAL_MS) {
          lastEviction = now;
          for (const tree of trees.values()) tree.evict(MAX_TREE_SIZE);
        }
        const eligible = context.eligible(request.model);
        const tree = treeFor(request.model);
        let maxLoad = Number.NEGATIVE_INFINITY;
        let minLoad = Number.POSITIVE_INFINITY;
        let leastLoaded = eligible[0] as number;
        for (const host of eligible) {
          const load = inFlight.counts[host] ?? 0;
          if (load > maxLoad) maxLoad = load;
          if (load < minLoad) {
            minLoad = load;
            leastLoaded = host;
          }
        }
        let host: number;
        if (maxLoad - minLoad > BALANCE_ABS_THRESHOLD && maxLoad > minLoad * BALANCE_REL_THRESHOLD) {
          host = leastLoaded;
        } else {
          const { matched, holders } = tree.match(request.prompt);
          const eligibleHolders = holders.filter((h) => eligible.includes(h));
          if (eligibleHolders.length > 0 && matched / request.prompt.length > CACHE_THRESHOLD) {
            host = eligibleHolders[0] as number;
            if (holderChoice === 'least-loaded') {
              for (const h of eligibleHolders)
                if ((inFlight.counts[h] ?? 0) < (inFlight.counts[host] ?? 0)) host = h;
            }
          } else {
            host = eligible[0] as number;
            for (const other of eligible)
              if ((tree.sizes[other] ?? 0) < (tree.sizes[host] ?? 0)) host = other;
          }
        }
        tree.insert(request.prompt, host, now);
        return inFlight.ticket(host);
      },
    };
  };
