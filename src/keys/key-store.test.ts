import { describe, expect, it } from 'vitest';
import { storeBackends } from '../../test/support/databases.js';
import { openStorage } from '../storage/open-conversation-store.js';
import { generateApiKey, hashKey, keyMatches, keyPrefix, looksLikeKey } from './api-key.js';
import { KeyNameTakenError } from './key-store.js';

const NO_LIMITS = { rpm: null, streams: null, tokensPerDay: null };

describe('API key values', () => {
  it('are cw_ and 192 random bits, told apart by their prefix, matched only whole', () => {
    const keys = Array.from({ length: 100 }, generateApiKey);
    expect(new Set(keys).size).toBe(100);
    for (const key of keys) expect(looksLikeKey(key)).toBe(true);
    const [key] = keys as [string];
    expect(key).toMatch(/^cw_[A-Za-z0-9_-]{32}$/);
    expect(keyPrefix(key)).toBe(key.slice(0, 11));
    expect(keyMatches(key, hashKey(key))).toBe(true);
    expect(keyMatches(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, hashKey(key))).toBe(false);
    expect(looksLikeKey('cw_short')).toBe(false);
  });
});

for (const backend of storeBackends) {
  describe.skipIf(backend.skipReason !== undefined)(`key store on ${backend.title}`, () => {
    it('keeps only the hash, lists without the key, revokes by name, and reuses a revoked name', async () => {
      const database = await backend.createDatabase();
      const storage = await openStorage(database.options);
      try {
        const { keys } = storage;
        expect(await keys.any()).toBe(false);
        const { key, record } = await keys.create({
          name: 'alice',
          admin: false,
          limits: { rpm: 60, streams: 2, tokensPerDay: 100_000 },
        });
        expect(record).toMatchObject({
          name: 'alice',
          prefix: keyPrefix(key),
          hash: hashKey(key),
          admin: false,
          limits: { rpm: 60, streams: 2, tokensPerDay: 100_000 },
          lastUsedAt: null,
          revokedAt: null,
        });
        await expect(keys.create({ name: 'alice', admin: true, limits: NO_LIMITS })).rejects.toBeInstanceOf(
          KeyNameTakenError,
        );
        await expect(keys.create({ name: 'bad name!', admin: false, limits: NO_LIMITS })).rejects.toThrow(
          RangeError,
        );
        expect(JSON.stringify(await keys.list())).not.toContain(key);
        await keys.touch([record.id], '2026-12-01T00:00:00.000Z');
        expect((await keys.active())[0]?.lastUsedAt).toBe('2026-12-01T00:00:00.000Z');

        expect(await keys.revoke('alice')).toBe(true);
        expect(await keys.revoke('alice')).toBe(false);
        expect(await keys.active()).toEqual([]);
        expect(await keys.any()).toBe(true);
        const again = await keys.create({ name: 'alice', admin: true, limits: NO_LIMITS });
        expect((await keys.active()).map((active) => active.id)).toEqual([again.record.id]);
        expect(await keys.list()).toHaveLength(2);
      } finally {
        await storage.conversations.close();
        await database.dispose();
      }
    });
  });
}
