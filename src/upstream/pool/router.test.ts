import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../contracts/chat-request.js';
import {
  BLOCK_CHARS,
  commonBlocks,
  conversationBlocks,
  conversationKey,
  PrefixHasher,
} from './prefix-blocks.js';
import { COLD_SPILL_MS, HOME_WAIT_MS, RoutedHost, Router, WARM_FOR_MS } from './router.js';

const SYSTEM: ChatMessage = { role: 'system', content: 'You are terse. '.repeat(200) };

function answer(id: number, turn: number): string {
  return `answer ${turn} of ${id}. `.repeat(40);
}

function conversation(id: number, turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [SYSTEM];
  for (let turn = 0; turn < turns; turn++) {
    messages.push({ role: 'user', content: `conversation ${id}, question ${turn}: ${'why? '.repeat(60)}` });
    if (turn < turns - 1) messages.push({ role: 'assistant', content: answer(id, turn) });
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

/** Routes conversation `id`'s turn `turns`, then finishes it with the reply its next turn will carry. */
function turn(router: Router, pool: RoutedHost[], id: number, turns: number, now: number) {
  const messages = conversation(id, turns);
  const placement = router.route(pool, { model: 'm', blocks: conversationBlocks(messages) }, now);
  if (placement === undefined) throw new Error(`no room for conversation ${id} at ${now}`);
  const reply: ChatMessage = { role: 'assistant', content: answer(id, turns - 1) };
  placement.finish(now + 1, new PrefixHasher().pushMessages([...messages, reply]).blocks());
  return placement;
}

describe('prefix blocks', () => {
  it('agree exactly as far as two conversations share their text, in whole blocks', () => {
    const a = conversationBlocks(conversation(1, 3));
    const b = conversationBlocks(conversation(2, 3));
    // The system prompt (and the role markers) is common; the first question differs.
    expect(commonBlocks(a, b)).toBe(Math.floor((SYSTEM.content.length + 16) / BLOCK_CHARS));
    expect(commonBlocks(a, a)).toBe(a.length);
    expect(commonBlocks(a, a.subarray(0, 3))).toBe(3);
  });

  it('key a conversation by its opening, the same on every turn', () => {
    expect(conversationKey(conversation(1, 1))).toBe(conversationKey(conversation(1, 5)));
    expect(conversationKey(conversation(1, 1))).not.toBe(conversationKey(conversation(2, 1)));
  });

  it('are the same however the text is split across pushes', () => {
    const text = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 9000))).join(
      '',
    );
    const whole = new PrefixHasher();
    whole.push(text);
    for (const size of [1, 7, 255, 256, 257, 1000]) {
      const pieces = new PrefixHasher();
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      expect(pieces.blocks()).toEqual(whole.blocks());
    }
    expect(whole.length).toBe(Math.floor(text.length / BLOCK_CHARS));
  });

  it('extend a conversation by its reply exactly as the next turn renders it', () => {
    const messages = conversation(1, 2);
    const hasher = new PrefixHasher().pushMessages(messages);
    hasher.pushReplyStart();
    hasher.push(answer(1, 1));
    const next = conversationBlocks(conversation(1, 3));
    expect(hasher.length).toBeGreaterThan(conversationBlocks(messages).length);
    expect(commonBlocks(hasher.blocks(), next)).toBe(hasher.length);
  });
});

describe('Router', () => {
  it('keeps a conversation on the host that holds its prefix', () => {
    const router = new Router();
    const pool = hosts(4);
    const first = turn(router, pool, 7, 1, 1).host;
    for (let t = 2; t <= 6; t++) {
      const placement = turn(router, pool, 7, t, t * 10);
      expect(placement.host).toBe(first);
      // Everything but the new question was cached.
      expect(placement.cachedBlocks).toBeGreaterThanOrEqual(
        conversationBlocks(conversation(7, t)).length - 2,
      );
    }
  });

  it('moves on to other hosts once new conversations sharing a system prompt would displace recent ones', () => {
    const router = new Router();
    const pool = hosts(4);
    const counts = new Map<string, number>();
    for (let c = 0; c < 16; c++) {
      const host = turn(router, pool, c, 1, c + 1).host;
      counts.set(host.name, (counts.get(host.name) ?? 0) + 1);
    }
    // Each host takes as many as it has slots (the shared prompt is copied into a free slot), no more.
    expect([...counts.values()]).toEqual([4, 4, 4, 4]);
    // So every one of them is still cached when it comes back.
    for (let c = 0; c < 16; c++) {
      const placement = turn(router, pool, c, 2, 100 + c);
      expect(placement.cachedBlocks).toBeGreaterThanOrEqual(
        conversationBlocks(conversation(c, 2)).length - 2,
      );
    }
  });

  it('never picks a host more than one stream busier than the least busy, whatever it caches', () => {
    const router = new Router();
    const pool = hosts(2, 8);
    const blocks = conversationBlocks(conversation(1, 3));
    let placed = 0;
    // The same hot conversation, many times at once.
    for (let i = 0; i < 8; i++) {
      if (router.route(pool, { model: 'm', blocks }, i)) placed++;
      expect(Math.abs((pool[0]?.inFlight ?? 0) - (pool[1]?.inFlight ?? 0))).toBeLessThanOrEqual(1);
    }
    expect(placed).toBe(8);
  });

  it('keeps to hosts where the model is warm, however busy within their bound, while they have room', () => {
    const router = new Router();
    const cold = new RoutedHost({ name: 'cold:1', maxStreams: 4 });
    const warm = new RoutedHost({ name: 'warm:1', maxStreams: 4 });
    warm.setLoaded(['m'], 0);
    const request = { model: 'm', blocks: conversationBlocks(conversation(1, 1)) };
    for (let i = 0; i < 4; i++) expect(router.route([cold, warm], request, 0)?.host).toBe(warm);
    // Full: a host with nothing else to do loads the model.
    expect(router.route([cold, warm], request, 0)?.host).toBe(cold);
  });

  it('loads a model on a host in use for another only after waiting COLD_SPILL_MS, so hosts do not thrash', () => {
    const router = new Router();
    const busy = new RoutedHost({ name: 'busy:1', maxStreams: 2 });
    const warm = new RoutedHost({ name: 'warm:1', maxStreams: 1 });
    busy.setLoaded(['other'], 0);
    warm.setLoaded(['m'], 0);
    router.route([busy], { model: 'other', blocks: new Uint32Array(0) }, 0);
    const request = { model: 'm', blocks: new Uint32Array(0) };
    expect(router.route([busy, warm], request, 0)?.host).toBe(warm);
    expect(router.route([busy, warm], request, 0, COLD_SPILL_MS - 1)).toBeUndefined();
    expect(router.route([busy, warm], request, 0, COLD_SPILL_MS)?.host).toBe(busy);
    expect(router.route([busy, warm], request, 0, COLD_SPILL_MS)).toBeUndefined();
  });

  it('loads the model on the least busy host when no host has it loaded', () => {
    const router = new Router();
    const [a, b] = [
      new RoutedHost({ name: 'a:1', maxStreams: 2 }),
      new RoutedHost({ name: 'b:1', maxStreams: 2 }),
    ];
    a.inFlight = 1;
    expect(router.route([a, b], { model: 'm', blocks: new Uint32Array(0) }, 0)?.host).toBe(b);
  });

  it('lets an agent’s quick next call wait a moment for its own full host, but not a chat turn that comes later', () => {
    const router = new Router();
    const pool = hosts(2, 1);
    const call = { model: 'm', blocks: new Uint32Array(0), affinityKey: 'agent' };
    const first = router.route(pool, call, 0) as NonNullable<ReturnType<Router['route']>>;
    const home = first.host;
    const other = pool.find((host) => host !== home) as RoutedHost;
    first.finish(100, new Uint32Array(0));
    // Someone else takes the only stream there while the agent's tool runs.
    const stranger = router.route([home], { model: 'm', blocks: new Uint32Array(0) }, 150);
    expect(router.route(pool, call, 600)).toBeUndefined();
    const moved = router.route(pool, call, 600, HOME_WAIT_MS);
    expect(moved?.host).toBe(other);
    moved?.finish(700, new Uint32Array(0));
    router.route([other], { model: 'm', blocks: new Uint32Array(0) }, 750);
    stranger?.finish(800);
    // Nine seconds after its reply, as a chat's next turn comes: it goes where there is room at once.
    expect(router.route(pool, call, 9_700)?.host).toBe(home);
  });

  it('counts a model served in the last few minutes as warm until /api/ps says it is gone, with its cache', () => {
    const host = new RoutedHost({ name: 'a:1', maxStreams: 2 });
    const router = new Router();
    turn(router, [host], 1, 2, 1000);
    expect(host.isWarm('m', 1000 + WARM_FOR_MS - 1)).toBe(true);
    expect(host.isWarm('m', 1000 + WARM_FOR_MS + 1)).toBe(false);
    host.setLoaded([], 2000);
    expect(host.isWarm('m', 2001)).toBe(false);
    const again = router.route([host], { model: 'm', blocks: conversationBlocks(conversation(1, 2)) }, 2002);
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
    for (let c = 0; c < 64; c++) turn(router, pool, c, 6, c * 1000);
    const request = { model: 'm', blocks: conversationBlocks(conversation(3, 7)) };
    const rounds = 20_000;
    let sink = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      const now = 64_000 + i;
      const placement = router.route(pool, request, now);
      sink += placement?.cachedBlocks ?? 0;
      placement?.finish(now);
    }
    const perDecisionUs = ((performance.now() - started) * 1000) / rounds;
    expect(sink).toBeGreaterThan(0);
    // Generous, for a shared CI core; the routing benchmark reports the real figure.
    expect(perDecisionUs).toBeLessThan(100);
  });
});
