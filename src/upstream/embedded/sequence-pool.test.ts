import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../contracts/gateway-error.js';
import { SequencePool } from './sequence-pool.js';

const never = new AbortController().signal;

describe('SequencePool', () => {
  it('creates slots up to its size, then queues, then answers 503 with Retry-After', async () => {
    let created = 0;
    const pool = new SequencePool(2, 1, () => ++created);
    expect([await pool.acquire(never), await pool.acquire(never)]).toEqual([1, 2]);
    const waiting = pool.acquire(never);
    expect(pool.waiting).toBe(1);
    const refused = await pool.acquire(never).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ statusCode: 503, retryAfterSeconds: 1 });
    pool.release(2);
    expect(await waiting).toBe(2);
    expect(created).toBe(2);
    expect(pool.peakActive).toBe(2);
  });

  it('hands out the most recently released slot first', async () => {
    let created = 0;
    const pool = new SequencePool(3, 0, () => ++created);
    const slots = [await pool.acquire(never), await pool.acquire(never), await pool.acquire(never)];
    for (const slot of slots) pool.release(slot);
    expect(await pool.acquire(never)).toBe(3);
    expect(pool.active).toBe(1);
  });

  it('drops a waiter whose request is aborted, with the abort reason', async () => {
    const pool = new SequencePool(1, 4, () => 'slot');
    await pool.acquire(never);
    const client = new AbortController();
    const waiting = pool.acquire(client.signal);
    client.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(pool.waiting).toBe(0);
  });
});
