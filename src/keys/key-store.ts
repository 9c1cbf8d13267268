import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, Database } from '../storage/schema.js';
import { generateApiKey, hashKey, keyPrefix } from './api-key.js';

export interface KeyLimits {
  /** Requests per minute; null: no limit. */
  rpm: number | null;
  /** Streams at once. */
  streams: number | null;
  /** Completion tokens per UTC day. */
  tokensPerDay: number | null;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  admin: boolean;
  limits: KeyLimits;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A key name: what `chatwire keys revoke` and the metrics call it. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class KeyNameTakenError extends Error {
  override readonly name = 'KeyNameTakenError';
  constructor(readonly keyName: string) {
    super(`a key named ${JSON.stringify(keyName)} exists; revoke it first or choose another name`);
  }
}

/** API keys, in the same database as the conversations; only each key's hash is kept. */
export class KeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Creates a key and returns it, the only time it is ever seen whole. */
  async create(input: {
    name: string;
    admin: boolean;
    limits: KeyLimits;
  }): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!KEY_NAME_PATTERN.test(input.name)) {
      throw new RangeError(
        'a key name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    }
    if (await this.#active().where('name', '=', input.name).executeTakeFirst())
      throw new KeyNameTakenError(input.name);
    const key = generateApiKey();
    const row: Selectable<ApiKeysTable> = {
      id: randomUUID(),
      name: input.name,
      prefix: keyPrefix(key),
      hash: hashKey(key),
      admin: input.admin ? 1 : 0,
      rpm: input.limits.rpm,
      streams: input.limits.streams,
      tokens_per_day: input.limits.tokensPerDay,
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.#db.insertInto('api_keys').values(row).execute();
    return { key, record: toRecord(row) };
  }

  /** Every key, revoked ones too, oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** Whether any key was ever created, revoked ones included. */
  async any(): Promise<boolean> {
    return (await this.#db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst()) !== undefined;
  }

  async active(): Promise<ApiKeyRecord[]> {
    return (await this.#active().execute()).map(toRecord);
  }

  /** False when no active key has that name. */
  async revoke(name: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('name', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touch(ids: string[], at: string): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.updateTable('api_keys').set({ last_used_at: at }).where('id', 'in', ids).execute();
  }

  #active() {
    return this.#db.selectFrom('api_keys').selectAll().where('revoked_at', 'is', null);
  }
}

function toRecord(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    admin: Number(row.admin) === 1,
    limits: { rpm: row.rpm, streams: row.streams, tokensPerDay: row.tokens_per_day },
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
