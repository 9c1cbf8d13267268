/**
 * The protocol-neutral unit of a streamed reply. Upstream adapters turn their wire format into chunks;
 * downstream encoders turn chunks into theirs. `wire` keeps the exact bytes an Ollama-native upstream sent,
 * so an Ollama-native downstream can relay them byte for byte instead of re-encoding.
 */
export type ChatChunk = DeltaChunk | DoneChunk;

export interface ToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> };
}

export interface WireLine {
  protocol: 'ollama-ndjson';
  /** The line including its trailing newline. */
  bytes: Buffer;
  /** The parsed object, for encoders that need fields the chunk does not carry. */
  object: Record<string, unknown>;
}

export interface DeltaChunk {
  type: 'delta';
  model: string;
  content: string;
  thinking?: string;
  toolCalls?: ToolCall[];
  wire?: WireLine;
}

export interface DoneChunk {
  type: 'done';
  model: string;
  doneReason: string;
  usage: { promptTokens: number; completionTokens: number };
  /** Upstream timings in nanoseconds, as Ollama reports them. */
  durations: { total?: number; load?: number; promptEval?: number; eval?: number };
  wire?: WireLine;
}

/** Chunks parsed from one network read: relayed together as one write. */
export type ChunkBatch = ChatChunk[];
