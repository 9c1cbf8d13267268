// The soak's pass/fail: every figure the run measured, against what it promises. Pure, so that each way of
// failing can be shown to fail without running a soak.

export interface Figures {
  streams: number;
  /** Outcome violations, as the checker worded them. */
  outcomeViolations: number;
  rssSlopeMiBPerMinute: number;
  rssSlopeLimitMiBPerMinute: number;
  fdBaseline: number;
  /** Lowest fd count seen while waiting for the gateway to let go of its connections after the load. */
  fdAfter: number;
  /** stderr lines, error-level log lines, unparsable output. */
  alarms: number;
  /** Upstream requests still open, or gateway streams still counted, once every client is done. */
  leftOpen: number;
  /** The gateway died during the run. */
  exited: boolean;
}

export function verdict(f: Figures): string[] {
  const out: string[] = [];
  if (f.streams === 0) out.push('no stream ran');
  if (f.outcomeViolations > 0)
    out.push(`${f.outcomeViolations} streams did not get what the failure table promises`);
  if (!(f.rssSlopeMiBPerMinute <= f.rssSlopeLimitMiBPerMinute)) {
    out.push(
      `RSS grew ${f.rssSlopeMiBPerMinute.toFixed(2)} MiB/min after warm-up (limit ${f.rssSlopeLimitMiBPerMinute} MiB/min)`,
    );
  }
  if (f.fdAfter > f.fdBaseline)
    out.push(`open fds did not return to baseline: ${f.fdAfter} vs ${f.fdBaseline}`);
  if (f.alarms > 0) out.push(`${f.alarms} warnings, errors or unhandled rejections in the gateway's output`);
  if (f.leftOpen > 0) out.push(`${f.leftOpen} streams still open after every client finished`);
  if (f.exited) out.push('the gateway exited during the run');
  return out;
}
