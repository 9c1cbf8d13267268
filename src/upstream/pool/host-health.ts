/** `healthy` takes traffic; `ejected` waits out its time; `probing` waits for one good probe to return. */
export type HealthState = 'healthy' | 'ejected' | 'probing';

export interface HealthPolicy {
  /** Consecutive failures (connect errors, 5xx) that eject a host. */
  ejectAfter: number;
  /** The first ejection's length; each further one lasts as many times longer as the host has been ejected. */
  ejectMs: number;
}

/**
 * Outlier detection as Envoy does it: consecutive failures eject a host for `ejectMs` × its ejection count;
 * when that time is up the host is probed, and only a good probe gives it traffic again. The pool decides
 * whether an ejection may happen (never the last healthy host).
 */
export class HostHealth {
  state: HealthState = 'healthy';
  ejections = 0;
  consecutiveFailures = 0;
  lastError: string | null = null;
  private ejectedUntil = 0;

  constructor(private readonly policy: HealthPolicy) {}

  succeeded(): void {
    this.consecutiveFailures = 0;
  }

  /** Records a failure; true when the host has now failed often enough to be ejected. */
  failed(message: string): boolean {
    this.lastError = message;
    this.consecutiveFailures++;
    return this.state === 'healthy' && this.consecutiveFailures >= this.policy.ejectAfter;
  }

  eject(now: number): void {
    this.ejections++;
    this.state = 'ejected';
    this.ejectedUntil = now + this.policy.ejectMs * this.ejections;
  }

  /** An ejected host whose time is up is due a probe. */
  dueForProbe(now: number): boolean {
    return this.state === 'ejected' && now >= this.ejectedUntil;
  }

  startProbe(): void {
    this.state = 'probing';
  }

  probeSucceeded(): void {
    this.state = 'healthy';
    this.consecutiveFailures = 0;
  }

  probeFailed(message: string, now: number): void {
    this.lastError = message;
    this.eject(now);
  }
}
