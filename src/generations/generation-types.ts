import type { GatewayError } from '../contracts/gateway-error.js';

/** One unit the client sees: one NDJSON line, or one SSE event (its `id:` line included). */
export type Frame = Buffer | string;

/** What happens to the upstream when the client leaves: stop it at once, or let it finish for resumers. */
export type DisconnectPolicy = 'abort' | 'detach';

/** The wire format of a generation's frames; a resume answers in the same one. */
export type FrameFormat = 'ndjson' | 'sse';

export type GenerationState = 'running' | 'done' | 'failed' | 'stopped' | 'lost';

export interface GenerationInfo {
  id: string;
  /** The key that started it (null with auth off): only it, or an admin key, may resume or stop it. */
  owner: string | null;
  format: FrameFormat;
  policy: DisconnectPolicy;
  conversationId?: string;
}

/** What a read of a generation's log gives: frames after the asked-for number, and whether they end it. */
export type FrameRead = { frames: Frame[]; end: boolean } | 'evicted';

/** The pull side of a generation, on this instance or another: what resumers read. */
export interface GenerationReader {
  info: GenerationInfo;
  /** Frames after `after`, waiting until there is at least one or the log has ended; `signal` ends the wait. */
  read(after: number, signal: AbortSignal): Promise<FrameRead>;
}

/** The producer's side: the relay appends each frame as the live client gets it. */
export interface ProducedGeneration {
  readonly id: string;
  /** The number of the last frame appended (frames are numbered from 1). */
  readonly lastSeq: number;
  /** The number of the oldest frame still kept. */
  readonly firstSeq: number;
  /**
   * Appends frames and returns what the live client is sent for them. SSE frames get their `id:` line,
   * in place: afterwards `frames` holds them as they were kept.
   */
  append(frames: Frame[]): Frame;
  /** Appends the terminal frame(s); nothing is appended after. */
  end(state: Exclude<GenerationState, 'running'>, frames: Frame[]): Frame;
  /**
   * After the end: the live client was sent every frame, so only the terminal one is kept (a resume after
   * the end still replays the end; earlier frames are 410). Policy `abort` does this, so that a stream
   * read to its end costs no memory after it.
   */
  delivered(): void;
  /** The live client has left (policy detach): the generation may now be stopped to free memory. */
  detached(): void;
  /** Reads this generation's own log, for a live client that fell behind. */
  reader(): GenerationReader;
}

export interface GenerationStore {
  /** Starts a generation this instance produces; `stop` aborts its upstream call. */
  begin(info: Omit<GenerationInfo, 'id'>, stop: (reason: GatewayError) => void): ProducedGeneration;
  /** A reader, or undefined when the id is unknown or expired (its TTL after the end has passed). */
  find(id: string): Promise<GenerationReader | undefined>;
  /** The running generation of a stored conversation. */
  findRunning(conversationId: string): Promise<GenerationReader | undefined>;
  /** Asks the producer, wherever it runs, to stop; false when the id is unknown. */
  stop(id: string, reason: GatewayError): Promise<boolean>;
  close(): Promise<void>;
}

export interface GenerationLimits {
  /** Bytes kept per generation; older frames are evicted beyond it. */
  perGenerationBytes: number;
  /** Bytes kept over all generations; beyond it, ended logs go first, then the oldest detached are stopped. */
  totalBytes: number;
  /** How long an ended generation can still be replayed. */
  ttlMs: number;
}
