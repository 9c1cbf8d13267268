import { describe, expect, it, vi } from 'vitest';
import type { GatewayError } from '../contracts/gateway-error.js';
import type { GenerationReader } from './generation-types.js';
import { MemoryGenerationStore } from './memory-generation-store.js';

const info = { owner: null, format: 'ndjson' as const, policy: 'detach' as const };
const peek = (reader: GenerationReader | undefined, after = 0) => reader?.read(after, AbortSignal.abort());

describe('MemoryGenerationStore', () => {
  it('gives SSE frames their id line, numbered from 1, and returns what the live client is sent', async () => {
    const store = new MemoryGenerationStore({ perGenerationBytes: 1e6, totalBytes: 1e6, ttlMs: 1000 });
    const produced = store.begin({ ...info, format: 'sse' }, () => {});
    const out = produced.append(['data: a\n\n', 'data: b\n\n']);
    expect(out).toBe(`id: ${produced.id}-1\ndata: a\n\nid: ${produced.id}-2\ndata: b\n\n`);
    produced.end('done', ['data: [DONE]\n\n']);
    expect(await peek(await store.find(produced.id), 2)).toEqual({
      frames: [`id: ${produced.id}-3\ndata: [DONE]\n\n`],
      end: true,
    });
  });

  it('over the total: ended frames go first, then the oldest detached generation is stopped with the reason', async () => {
    const store = new MemoryGenerationStore({ perGenerationBytes: 1e6, totalBytes: 100, ttlMs: 60_000 });
    const ended = store.begin(info, () => {});
    ended.end('done', ['e'.repeat(40)]);
    const stops: GatewayError[] = [];
    const old = store.begin(info, (reason) => stops.push(reason));
    old.append(['o'.repeat(30)]);
    old.detached();
    const attached = store.begin(info, () => {
      throw new Error('a generation whose client reads it is not stopped');
    });
    attached.append(['a'.repeat(30)]);
    expect(store.bytes).toBe(100);
    attached.append(['a'.repeat(20)]);
    // The ended generation's 40 bytes were enough.
    expect(stops).toEqual([]);
    expect(await peek(await store.find(ended.id))).toBe('evicted');
    attached.append(['a'.repeat(30)]);
    expect(stops.map((reason) => reason.message)).toEqual([
      "generation stopped: its client had left and the gateway's memory for kept frames (CHATWIRE_GENERATION_MAX_BYTES=100) was full",
    ]);
    expect(store.bytes).toBeLessThanOrEqual(100);
  });

  it('forgets an ended generation after its TTL, and its conversation no longer has a running one at its end', async () => {
    vi.useFakeTimers();
    try {
      const store = new MemoryGenerationStore({ perGenerationBytes: 1e6, totalBytes: 1e6, ttlMs: 1000 });
      const produced = store.begin({ ...info, conversationId: 'c1' }, () => {});
      expect((await store.findRunning('c1'))?.info.id).toBe(produced.id);
      produced.end('done', ['x\n']);
      expect(await store.findRunning('c1')).toBeUndefined();
      vi.advanceTimersByTime(999);
      expect(await store.find(produced.id)).toBeDefined();
      vi.advanceTimersByTime(1);
      expect(await store.find(produced.id)).toBeUndefined();
      expect(store.bytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a stop reaches a running generation only; repeating it after the end is harmless', async () => {
    const store = new MemoryGenerationStore({ perGenerationBytes: 1e6, totalBytes: 1e6, ttlMs: 1000 });
    const stop = vi.fn();
    const produced = store.begin(info, stop);
    const reason = { message: 'stop' } as GatewayError;
    expect(await store.stop(produced.id, reason)).toBe(true);
    produced.end('stopped', ['{"error":"stop"}\n']);
    expect(await store.stop(produced.id, reason)).toBe(true);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(await store.stop('gen_unknown', reason)).toBe(false);
  });
});

describe('a generation its client read to the end (policy abort)', () => {
  it('keeps only its terminal frame: a resume after the end still gets the end', async () => {
    const store = new MemoryGenerationStore({ perGenerationBytes: 1e6, totalBytes: 1e6, ttlMs: 1000 });
    const produced = store.begin({ ...info, policy: 'abort' }, () => {});
    produced.append(['a\n', 'b\n']);
    produced.end('done', ['{"done":true}\n']);
    produced.delivered();
    expect(store.bytes).toBe('{"done":true}\n'.length);
    const reader = await store.find(produced.id);
    expect(await peek(reader, 0)).toBe('evicted');
    expect(await peek(reader, 2)).toEqual({ frames: ['{"done":true}\n'], end: true });
  });
});
