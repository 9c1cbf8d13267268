import {
  type Admission,
  type Limiter,
  minuteOf,
  NO_ADMISSION,
  type Refusal,
  refusalError,
  type Subject,
  utcDay,
} from './limiter.js';

/** The limits of one instance, kept in its memory: what a gateway without REDIS_URL uses. */
export class MemoryLimiter implements Limiter {
  private readonly minutes = new Map<string, { minute: number; count: number }>();
  private readonly streams = new Map<string, number>();
  private readonly tokens = new Map<string, { day: string; used: number }>();
  private globalStreams = 0;

  constructor(
    private readonly globalMax: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async admit(subject: Subject): Promise<Admission> {
    const now = this.clock();
    const refusal = this.check(subject, now);
    if (refusal !== undefined) throw refusalError(refusal, subject, this.globalMax, now);
    const { key } = subject;
    if (key?.limits.rpm != null) {
      const window = this.minutes.get(key.id);
      if (window?.minute === minuteOf(now)) window.count++;
      else this.minutes.set(key.id, { minute: minuteOf(now), count: 1 });
    }
    if (!subject.generates) return NO_ADMISSION;
    this.globalStreams++;
    if (key !== undefined) this.streams.set(key.id, (this.streams.get(key.id) ?? 0) + 1);
    let ended = false;
    return {
      end: (completionTokens) => {
        if (ended) return;
        ended = true;
        this.globalStreams--;
        if (key === undefined) return;
        this.streams.set(key.id, (this.streams.get(key.id) ?? 1) - 1);
        if (key.limits.tokensPerDay != null && completionTokens > 0) {
          const day = utcDay(this.clock());
          const spent = this.tokens.get(key.id);
          if (spent?.day === day) spent.used += completionTokens;
          else this.tokens.set(key.id, { day, used: completionTokens });
        }
      },
    };
  }

  private check(subject: Subject, now: number): Refusal | undefined {
    const { key } = subject;
    if (key?.limits.rpm != null) {
      const window = this.minutes.get(key.id);
      if (window?.minute === minuteOf(now) && window.count >= key.limits.rpm) return 'rpm';
    }
    if (!subject.generates) return undefined;
    if (key?.limits.tokensPerDay != null) {
      const spent = this.tokens.get(key.id);
      if (spent?.day === utcDay(now) && spent.used >= key.limits.tokensPerDay) return 'tokens';
    }
    if (key?.limits.streams != null && (this.streams.get(key.id) ?? 0) >= key.limits.streams)
      return 'streams';
    if (this.globalMax > 0 && this.globalStreams >= this.globalMax) return 'global';
    return undefined;
  }

  async close(): Promise<void> {}
}
