import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../contracts/chat-request.js';
import { BLOCK_CHARS, commonBlocks, conversationBlocks, PrefixHasher } from './prefix-blocks.js';
import { RoutedHost, Router, WARM_FOR_MS } from './router.js';

const SYSTEM: ChatMessage = { role: 'system', content: 'You are terse. '.repeat(200) };

function conversation(id: number, turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [SYSTEM];
  for (let turn = 0; turn < turns; turn++) {
    messages.push({ role: 'user', content: `conversation ${id}, question ${turn}: ${'why? '.repeat(60)}` });
    if (turn < turns - 1)
      messages.push({ role: 'assistant', content: `answer ${turn} of ${id}. `.repeat(40) });
  }
  return messages;
}

function hosts(count: number, maxStreams = 4): RoutedHost[] {
  return Array.from({ length: count }, (_, i) => {
    const host = new RoutedHost({ name: `gpu${i}:11434`, maxStreams });
    host.setLoaded(['m'], 0);
    return host;
  });
}

/** Routes a conversation's turn and finishes it with its reply, as the pool does. */
function turn(router: Router, pool: RoutedHost[], messages: ChatMessage[], now: number, key?: string) {
  const placement = router.route(
    pool,
    { model: 'm', blocks: conversationBlocks(messages), affinityKey: key },
    now,
  );
  if (placement === undefined) throw new Error('no room');
  const reply = `answer ${messages.length} `.repeat(40);
  placement.finish(
    now + 1,
    new PrefixHasher().pushMessages([...messages, { role: 'assistant', content: reply }]).blocks(),
  );
  return placement;
}

describe('prefix blocks', () => {
  it('agree exactly as far as two conversations share their text, in whole blocks', () => {
    const a = conversationBlocks(conversation(1, 3));
    const b = conversationBlocks(conversation(2, 3));
    const shared = commonBlocks(a, b);
    // The system prompt (and the role markers) is common; the first question differs.
    expect(shared).toBe(Math.floor((SYSTEM.content.length + 16) / BLOCK_CHARS));
    expect(commonBlocks(a, a)).toBe(a.length);
    expect(commonBlocks(a, a.subarray(0, 3))).toBe(3);
  });

  it('extend a conversation by its reply exactly as the next turn renders it', () => {
    const messages = conversation(1, 2);
    const hasher = new PrefixHasher().pushMessages(messages);
    hasher.pushReplyStart();
    hasher.push('the reply '.repeat(50));
    const next = conversationBlocks([
      ...messages,
      { role: 'assistant', content: 'the reply '.repeat(50) },
      { role: 'user', content: 'and then?' },
    ]);
    expect(commonBlocks(hasher.blocks(), next)).toBe(hasher.length);
  });
});

describe('Router', () => {
  it('keeps a conversation on the host that holds its prefix', () => {
    const router = new Router();
    const pool = hosts(4);
    const first = turn(router, pool, conversation(7, 1), 1).host;
    for (let t = 2; t <= 6; t++) {
      const placement = turn(router, pool, conversation(7, t), t * 10);
      expect(placement.host).toBe(first);
      expect(placement.cachedBlocks).toBeGreaterThan(0);
    }
  });

  it('moves on to other hosts once new conversations sharing a system prompt would evict recent ones', () => {
    const router = new Router();
    const pool = hosts(4);
    const counts = new Map<string, number>();
    for (let c = 0; c < 16; c++) {
      const host = turn(router, pool, conversation(c, 1), c + 1).host;
      counts.set(host.name, (counts.get(host.name) ?? 0) + 1);
    }
    // Each host takes as many as it has slots (the shared prompt is copied into an empty slot), no more.
    expect([...counts.values()]).toEqual([4, 4, 4, 4]);
    // So every one of them is still cached when it comes back.
    for (let c = 0; c < 16; c++) {
      const placement = turn(router, pool, conversation(c, 2), 100 + c);
      expect(placement.cachedBlocks).toBeGreaterThan(conversationBlocks(conversation(c, 1)).length - 1);
    }
  });

  it('never picks a host more than one stream busier than the least busy, whatever it caches', () => {
    const router = new Router();
    const pool = hosts(2, 8);
    const messages = conversation(1, 3);
    const placements = [];
    // The same hot conversation, many times at once.
    for (let i = 0; i < 8; i++) {
      const placement = router.route(pool, { model: 'm', blocks: conversationBlocks(messages) }, i);
      if (placement) placements.push(placement);
      expect(Math.abs((pool[0]?.inFlight ?? 0) - (pool[1]?.inFlight ?? 0))).toBeLessThanOrEqual(1);
    }
    expect(placements).toHaveLength(8);
  });

  it('prefers the host where the model is warm, and answers undefined when all are full', () => {
    const router = new Router();
    const cold = new RoutedHost({ name: 'cold:1', maxStreams: 1 });
    const warm = new RoutedHost({ name: 'warm:1', maxStreams: 1 });
    warm.setLoaded(['m'], 0);
    const request = { model: 'm', blocks: conversationBlocks(conversation(1, 1)) };
    expect(router.route([cold, warm], request, 0)?.host).toBe(warm);
    expect(router.route([cold, warm], request, 0)?.host).toBe(cold);
    expect(router.route([cold, warm], request, 0)).toBeUndefined();
  });

  it('counts a model served in the last few minutes as warm, and forgets the cache of one unloaded', () => {
    const host = new RoutedHost({ name: 'a:1', maxStreams: 2 });
    const router = new Router();
    const messages = conversation(1, 2);
    turn(router, [host], messages, 1000);
    expect(host.isWarm('m', 1000 + WARM_FOR_MS - 1)).toBe(true);
    expect(host.isWarm('m', 1000 + WARM_FOR_MS + 1)).toBe(false);
    host.setLoaded([], 1000 + WARM_FOR_MS + 1);
    const again = router.route(
      [host],
      { model: 'm', blocks: conversationBlocks(messages) },
      1000 + WARM_FOR_MS + 2,
    );
    expect(again?.cachedBlocks).toBe(0);
  });

  it('sends a conversation with nothing cached anywhere to the same host each time, by its key', () => {
    const picks = new Set<string>();
    for (let run = 0; run < 5; run++) {
      // A fresh router each run: as after a restart, or on another instance.
      const placement = new Router().route(
        hosts(4),
        { model: 'm', blocks: new Uint32Array(0), affinityKey: 'conv-42' },
        0,
      );
      picks.add(placement?.host.name ?? '');
    }
    expect(picks.size).toBe(1);
  });

  it('decides in well under 20 µs with 16 hosts holding long conversations', () => {
    const router = new Router();
    const pool = hosts(16);
    for (let c = 0; c < 64; c++) turn(router, pool, conversation(c, 6), c);
    const request = { model: 'm', blocks: conversationBlocks(conversation(3, 7)) };
    const rounds = 20_000;
    let sink = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      const placement = router.route(pool, request, 100 + i);
      sink += placement?.cachedBlocks ?? 0;
      placement?.finish(100 + i);
    }
    const perDecisionUs = ((performance.now() - started) * 1000) / rounds;
    expect(sink).toBeGreaterThan(0);
    // Generous: a shared CI core; the routing benchmark reports the real figure.
    expect(perDecisionUs).toBeLessThan(100);
  });
});
