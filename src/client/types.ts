export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: Role;
  content: string;
  images?: string[];
  tool_calls?: unknown[];
  tool_name?: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  model?: string;
  persona?: string;
  /** Ollama options; the server accepts only the keys in CHATWIRE_ALLOWED_OPTIONS. */
  options?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface ChatStats {
  promptTokens: number;
  completionTokens: number;
  totalDurationMs: number;
  /** From sending the request to the first text or thinking token, measured by this client (streams only). */
  ttftMs?: number;
  /** Generation speed as the model reported it (eval_count over eval_duration); 0 when unknown. */
  tokensPerSecond: number;
}

export type ChatEvent =
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string }
  | { type: 'tool_calls'; toolCalls: unknown[] }
  | { type: 'done'; stats: ChatStats; doneReason?: string; model?: string };

export interface ChatReply {
  text: string;
  thinking?: string;
  toolCalls?: unknown[];
  stats: ChatStats;
  doneReason?: string;
  model?: string;
}

export interface Conversation {
  id: string;
  persona: string;
  title: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ConversationMessage {
  id: string;
  seq: number;
  role: Role;
  content: string;
  status: 'complete' | 'streaming' | 'interrupted' | 'failed';
  error: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  ttftMs: number | null;
  durationMs: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ConversationWithMessages extends Conversation {
  messages: ConversationMessage[];
}

export interface ConversationPage {
  conversations: Conversation[];
  /** Pass to list({ cursor }) for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface Persona {
  name: string;
  model: string;
  description?: string;
}
