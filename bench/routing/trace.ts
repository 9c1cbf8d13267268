/** The shape of a workload: what each session says and when, independent of how it is routed. */

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One message: its word tokens for the simulated host, and the same words as text for the routers. */
export type TraceMessage = {
  role: Role;
  content: string;
  tokens: Int32Array;
};

export interface TraceCall {
  /** Simulated time between the previous call's end (or the session's start) and this call. */
  delayMs: number;
  /** Messages the client adds to the conversation before this call: a user turn or a tool result. */
  append: TraceMessage[];
  /** What the model answers; the client sends it back as part of the next call's prompt. */
  reply: TraceMessage;
}

export interface SessionTrace {
  id: string;
  model: string;
  startMs: number;
  initial: TraceMessage[];
  calls: TraceCall[];
}

export interface Workload {
  name: string;
  models: string[];
  /** Models a host may keep loaded at once. */
  modelCap: number;
  sessions: SessionTrace[];
}

/** Token ids past the vocabulary mark where a message of each role starts, as a chat template does. */
export const ROLE_TOKEN: Record<Role, number> = {
  system: 1_000_001,
  user: 1_000_002,
  assistant: 1_000_003,
  tool: 1_000_004,
};
