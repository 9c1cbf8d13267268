import { conversationBlocks, PrefixHasher } from '../../src/upstream/pool/prefix-blocks.js';
import { RoutedHost, Router } from '../../src/upstream/pool/router.js';
import { MAX_STREAMS, PROMPT_TOKENS_PER_S } from './constants.js';
import type { RouterContext, RouterFactory } from './sim-router.js';

/**
 * How far busier than the least busy host a host may be and still be chosen; router.ts keeps this private
 * (BALANCE_SLACK_STREAMS = 1). Only the diagnostics use it, to tell why a conversation left its host.
 */
const BALANCE_SLACK_STREAMS = 1;

export interface ChatwireVariant {
  /** What-if: each model offered only on a fixed share of the hosts, in proportion to its traffic. */
  pinModels?: boolean;
}

/** Hosts per model in proportion to its share of sessions, at least one each, the largest share first. */
function partition(context: RouterContext): Map<string, number[]> {
  const models = [...context.models].sort((a, b) => b.share - a.share);
  const counts = models.map((m) => Math.max(1, Math.round(m.share * context.hostCount)));
  while (counts.reduce((a, b) => a + b, 0) > context.hostCount) counts[0] = (counts[0] ?? 1) - 1;
  const result = new Map<string, number[]>();
  let next = 0;
  models.forEach((m, i) => {
    const count = i === models.length - 1 ? context.hostCount - next : (counts[i] ?? 1);
    result.set(
      m.name,
      Array.from({ length: count }, (_, k) => next + k),
    );
    next += count;
  });
  return result;
}

/**
 * The gateway's own router, as the server would drive it: the conversation hashed into prefix blocks, the
 * session id as affinity key, `finish` with the blocks of prompt and reply, and each host's loaded models
 * from the /api/ps poll.
 */
export const chatwireRouter =
  (variant: ChatwireVariant = {}): RouterFactory =>
  (context) => {
    const router = new Router();
    const hosts = Array.from(
      { length: context.hostCount },
      (_, i) => new RoutedHost({ name: `host-${i}`, maxStreams: MAX_STREAMS }),
    );
    const pinned = variant.pinModels === true ? partition(context) : undefined;
    const eligibleOf = (model: string) => pinned?.get(model) ?? context.eligible(model);
    const indexOf = new Map(hosts.map((host, i) => [host, i]));
    const lastHost = new Map<string, number>();
    const counts: Record<string, number> = {};
    const add = (key: string, amount = 1) => {
      counts[key] = (counts[key] ?? 0) + amount;
    };

    const name = variant.pinModels ? 'chatwire-pinned' : 'chatwire';
    return {
      name,
      poll: (now) => {
        for (let i = 0; i < hosts.length; i++) {
          const host = hosts[i] as RoutedHost;
          const loaded = (context.hosts[i] as (typeof context.hosts)[number]).loadedModels();
          host.setLoaded(loaded, now);
        }
      },
      route: (request, now) => {
        const eligible = eligibleOf(request.model).map((i) => hosts[i] as RoutedHost);
        const blocks = conversationBlocks(request.messages);
        // The state before the decision, for the diagnostics only.
        let minLoad = Number.POSITIVE_INFINITY;
        for (const host of eligible) if (!host.full && host.load < minLoad) minLoad = host.load;
        const previous = lastHost.get(request.sessionId);
        const before = previous === undefined ? undefined : (hosts[previous] as RoutedHost);
        const cachedBefore = before?.shadow(request.model).choose(blocks)?.cached ?? 0;
        const beforeFull = before?.full ?? false;
        const beforeOverBalance =
          before !== undefined &&
          before.load > minLoad + BALANCE_SLACK_STREAMS / (before.maxStreams * before.weight) + 1e-9;

        const placement = router.route(
          eligible,
          { model: request.model, blocks, affinityKey: request.sessionId },
          now,
          now - request.arrivalMs,
        );
        if (placement === undefined) {
          add('queuedAtGateway');
          return undefined;
        }
        add('decisions');
        const index = indexOf.get(placement.host) as number;
        if (previous !== undefined) {
          add('continuations');
          if (previous === index) add('keptHost');
          else {
            const why = beforeFull ? 'Full' : beforeOverBalance ? 'OverBalance' : 'Outscored';
            add(`leftHost${why}`);
            const lost = Math.max(0, cachedBefore - placement.cachedBlocks);
            if (lost > 0) {
              add(`leftHost${why}WithCache`);
              const tokens = (lost * request.prompt.length) / Math.max(1, blocks.length);
              add('abandonedCachedTokens', Math.round(tokens));
              add('abandonedEvalMs', Math.round((tokens / PROMPT_TOKENS_PER_S) * 1000));
            }
            if (beforeFull) {
              const home = context.hosts[previous] as (typeof context.hosts)[number];
              add('homeFreeInMsSum', Math.round(home.nextFreeAt(now) - now));
            }
          }
        }
        lastHost.set(request.sessionId, index);
        const loaded = (context.hosts[index] as (typeof context.hosts)[number]).isLoaded(request.model);
        if (!placement.warm && eligible.some((h) => h !== placement.host && h.isWarm(request.model, now))) {
          add('coldWhileAnotherHostWarm');
        }
        if (placement.warm && !loaded) add('believedWarmButUnloaded');

        return {
          host: index,
          predictedCachedShare: blocks.length === 0 ? 0 : placement.cachedBlocks / blocks.length,
          done: (end) => {
            placement.finish(
              end,
              new PrefixHasher().pushMessages([...request.messages, request.reply]).blocks(),
            );
          },
        };
      },
      diagnostics: () => ({ ...counts }),
    };
  };
