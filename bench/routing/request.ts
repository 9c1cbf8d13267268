import type { TraceMessage } from './trace.js';

/** One model call as the simulator carries it from arrival to the end of its stream. */
export interface SimRequest {
  id: number;
  sessionId: string;
  /** Index of the call within its session. */
  call: number;
  model: string;
  /** The conversation sent, as the client renders it. */
  messages: readonly TraceMessage[];
  reply: TraceMessage;
  /** The prompt as the host tokenizes it: a role token, then the content, per message. */
  prompt: Int32Array;
  /** What the slot holds after the reply: the prompt, then the reply with its role token. */
  full: Int32Array;
  arrivalMs: number;
  /** Filled in by the host that runs it. */
  host: number;
  startMs: number;
  firstTokenMs: number;
  endMs: number;
  cachedTokens: number;
  evaluatedTokens: number;
  /** This request paid for (or waited on) a model load. */
  coldLoad: boolean;
  /** Whether the model was loaded on the chosen host when the router picked it. */
  loadedWhenRouted: boolean;
}
