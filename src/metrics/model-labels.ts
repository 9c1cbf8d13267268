/** The `model` label of a model that no configured list or upstream catalogue names. */
export const OTHER_MODEL = 'other';

/** At most this many distinct model labels, whatever the catalogues list. */
const MAX_MODELS = 256;

/** How often a miss may re-read the catalogues: a client naming unknown models costs at most this. */
const RESYNC_MS = 1000;

/**
 * Bounds the `model` label. A client chooses the model name, and with `CHATWIRE_ALLOWED_MODELS=*` any name
 * passes, so the name a request sent is never a label as is: only names the operator configured (the
 * persona's model, the personas' models, the allow-list) or an upstream's catalogue lists are, each under
 * the first spelling seen; anything else is `other`. Names compare as Ollama does: case aside, and a bare
 * name is its `:latest` tag.
 */
export class ModelLabels {
  private readonly labels = new Map<string, string>();
  private syncedAt = Number.NEGATIVE_INFINITY;

  /** `catalogue` lists what the upstreams serve now; a miss re-reads it (at most once a second). */
  constructor(
    configured: Iterable<string>,
    private readonly catalogue?: () => Iterable<string>,
  ) {
    this.add(configured);
  }

  add(names: Iterable<string>): void {
    for (const name of names) {
      if (this.labels.size >= MAX_MODELS) return;
      const key = canonical(name);
      if (key !== '' && !this.labels.has(key)) this.labels.set(key, name);
    }
  }

  /** The label for a requested model: '' when the request named none (it never reached a relay). */
  label(model: string | undefined, now = performance.now()): string {
    if (model === undefined) return '';
    const key = canonical(model);
    const known = this.labels.get(key);
    if (known !== undefined) return known;
    if (this.catalogue !== undefined && now - this.syncedAt >= RESYNC_MS) {
      this.sync(now);
      return this.labels.get(key) ?? OTHER_MODEL;
    }
    return OTHER_MODEL;
  }

  /** Adds what the catalogue lists now. */
  sync(now = performance.now()): void {
    if (this.catalogue === undefined) return;
    this.syncedAt = now;
    this.add(this.catalogue());
  }
}

function canonical(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith(':latest') ? lower.slice(0, -':latest'.length) : lower;
}
