import type { Conversation, StoredMessage } from '../../../storage/conversation-store.js';

/** The API spells fields the way the rest of chatwire's JSON does (Ollama's snake_case). */
export function conversationJson(conversation: Conversation) {
  return {
    id: conversation.id,
    persona: conversation.persona,
    title: conversation.title,
    created_at: conversation.createdAt,
    updated_at: conversation.updatedAt,
  };
}

export function messageJson(message: StoredMessage) {
  return {
    id: message.id,
    seq: message.seq,
    role: message.role,
    content: message.content,
    status: message.status,
    error: message.error,
    prompt_tokens: message.promptTokens,
    completion_tokens: message.completionTokens,
    ttft_ms: message.ttftMs,
    duration_ms: message.durationMs,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
  };
}
