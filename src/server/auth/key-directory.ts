import { keyMatches, keyPrefix, looksLikeKey } from '../../keys/api-key.js';
import type { ApiKeyRecord, KeyStore } from '../../keys/key-store.js';

export interface KeyDirectoryLogger {
  warn(obj: object, msg: string): void;
}

/**
 * The active keys, read from the database at start and again every `refreshMs`, so that a key created or
 * revoked on any instance (by `chatwire keys`) takes effect everywhere within that time, without a restart.
 * Uses are written back in batches on the same beat (`last_used_at`), never on the request path.
 */
export class KeyDirectory {
  private byPrefix = new Map<string, ApiKeyRecord>();
  private anyKey = false;
  private readonly used = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: KeyStore,
    private readonly options: { requireAuth: boolean; refreshMs: number; logger?: KeyDirectoryLogger },
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.options.logger?.warn(
          { err: error },
          'reading the API keys failed; the last ones read stay in force',
        ),
      );
    }, this.options.refreshMs);
    this.timer.unref();
  }

  /**
   * Auth is on once any key has been created, or when CHATWIRE_REQUIRE_AUTH says so with none yet. A revoked
   * key still counts: revoking the last key must not open the gateway to everyone.
   */
  get required(): boolean {
    return this.options.requireAuth || this.anyKey;
  }

  /** The key an `Authorization: Bearer …` header names, or undefined for a missing, unknown or revoked one. */
  authenticate(header: string | undefined): ApiKeyRecord | undefined {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (presented === undefined || !looksLikeKey(presented)) return undefined;
    const record = this.byPrefix.get(keyPrefix(presented));
    if (record === undefined || !keyMatches(presented, record.hash)) return undefined;
    this.used.add(record.id);
    return record;
  }

  async refresh(): Promise<void> {
    // Whether any key exists is read first: the active keys read after it then include every key it saw,
    // so auth never turns on for a key that this refresh does not know yet.
    const anyKey = await this.store.any();
    const keys = await this.store.active();
    this.anyKey = anyKey;
    this.byPrefix = new Map(keys.map((key) => [key.prefix, key]));
    if (this.used.size > 0) {
      const ids = [...this.used];
      this.used.clear();
      await this.store.touch(ids, new Date().toISOString());
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // The last uses are recorded too.
    if (this.used.size > 0) await this.store.touch([...this.used], new Date().toISOString()).catch(() => {});
  }
}
