import type { HostConfig } from '../../config/upstreams-config.js';
import type { ChatUpstream } from '../chat-upstream.js';
import { type HealthPolicy, HostHealth } from './host-health.js';
import { RoutedHost } from './router.js';

/** One host of the pool: its client, its routing state, its health and what it serves. */
export class PoolHost {
  readonly routed: RoutedHost;
  readonly health: HostHealth;
  /** Canonical names of the models it serves; undefined until its catalogue has been read once. */
  models: Set<string> | undefined;
  /** Names as the host spells them, for listings. */
  modelNames: string[] = [];
  loadedModels: string[] = [];
  catalogReadAt = 0;

  constructor(
    readonly config: HostConfig,
    readonly upstream: ChatUpstream,
    policy: HealthPolicy,
  ) {
    this.routed = new RoutedHost({ name: config.name, maxStreams: config.maxStreams, weight: config.weight });
    this.health = new HostHealth(policy);
  }

  get name(): string {
    return this.config.name;
  }

  /** An unread catalogue does not rule the host out: the host itself will say if it lacks the model. */
  serves(model: string): boolean {
    return this.models === undefined || this.models.has(canonicalModel(this.config.kind, model));
  }

  forget(model: string): void {
    this.models?.delete(canonicalModel(this.config.kind, model));
  }
}

/** Ollama resolves a bare name to its `:latest` tag and compares names without case; others match exactly. */
export function canonicalModel(kind: HostConfig['kind'], name: string): string {
  if (kind !== 'ollama') return name;
  const tagged = name.lastIndexOf(':') > name.lastIndexOf('/');
  return (tagged ? name : `${name}:latest`).toLowerCase();
}
