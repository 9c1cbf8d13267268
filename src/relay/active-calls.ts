import type { GatewayError } from '../contracts/gateway-error.js';

interface Abortable {
  abort(reason: GatewayError): void;
}

/** The upstream calls in flight, so shutdown can end the ones that outlive the grace period. */
export class ActiveCalls {
  private readonly calls = new Set<Abortable>();
  private readonly idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.calls.size;
  }

  add(call: Abortable): void {
    this.calls.add(call);
  }

  delete(call: Abortable): void {
    this.calls.delete(call);
    if (this.calls.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  abortAll(reason: () => GatewayError): void {
    for (const call of [...this.calls]) call.abort(reason());
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
