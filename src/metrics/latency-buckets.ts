/**
 * Histogram buckets in seconds. Whole requests and first tokens of local LLMs range from a few milliseconds
 * (a warm model, a short prompt, or an error) to minutes (a cold load of a large model, a long reply).
 */
export const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

/** chatwire's own part of a first token: normally well under a millisecond, a few when the event loop is busy. */
export const OVERHEAD_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
