import { ChatStream, type OllamaChunk, type Resumer, statsOf } from './chat-stream.js';
import { ChatwireError, errorFromResponse } from './errors.js';
import type {
  ChatReply,
  ChatRequest,
  Conversation,
  ConversationMessage,
  ConversationPage,
  ConversationWithMessages,
  Persona,
} from './types.js';

export interface ClientOptions {
  /** Where chatwire listens, e.g. 'http://127.0.0.1:8080' (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`, for a gateway behind an authenticating proxy. */
  apiKey?: string;
  /** Defaults to the global fetch; pass one to add headers, retries or a test transport. */
  fetch?: typeof fetch;
  /**
   * Streams resume by themselves when their connection drops mid-reply, up to `attempts` times in a row
   * (default 3): they ask chatwire to keep generating for them (`chatwire-on-disconnect: detach`), and
   * stop the generation when the caller leaves the loop or aborts. `false`: a drop ends the stream, and
   * the gateway stops the model as soon as the connection closes (`chatwire-on-disconnect: abort`).
   */
  resume?: false | { attempts?: number };
}

export interface MessageInput {
  content: string;
  /** Instead of the persona's model, for this turn (the server allows only CHATWIRE_ALLOWED_MODELS). */
  model?: string;
  signal?: AbortSignal;
}

export interface RegenerateInput {
  model?: string;
  signal?: AbortSignal;
}

export interface ChatwireClient {
  chat: {
    /** Streams the reply; nothing is sent until the result is iterated (or `.text()` is called). */
    stream(request: ChatRequest): ChatStream;
    send(request: ChatRequest): Promise<ChatReply>;
  };
  conversations: {
    create(input?: { persona?: string; title?: string; signal?: AbortSignal }): Promise<Conversation>;
    list(input?: { limit?: number; cursor?: string; signal?: AbortSignal }): Promise<ConversationPage>;
    get(id: string, input?: { signal?: AbortSignal }): Promise<ConversationWithMessages>;
    rename(id: string, title: string, input?: { signal?: AbortSignal }): Promise<Conversation>;
    delete(id: string, input?: { signal?: AbortSignal }): Promise<void>;
    /** Adds a user message and streams the assistant's reply. */
    stream(id: string, input: MessageInput): ChatStream;
    send(id: string, input: MessageInput): Promise<ChatReply>;
    /** Replaces the last reply with a new one to the same user message, streamed. */
    regenerate(id: string, input?: RegenerateInput): ChatStream;
  };
  personas: {
    list(input?: { signal?: AbortSignal }): Promise<Persona[]>;
  };
  models: {
    /** The names of the models a client may ask for, on every upstream host. */
    list(input?: { signal?: AbortSignal }): Promise<string[]>;
  };
}

export function createClient(options: ClientOptions): ChatwireClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  // Called through a closure: a browser's fetch throws "Illegal invocation" when called as a method of another object.
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));

  async function request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/x-ndjson',
      ...extraHeaders,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(signal && { signal }),
      });
    } catch (error) {
      // An abort stays the caller's own abort reason, as with fetch; anything else never reached chatwire.
      if (signal?.aborted) throw signal.reason ?? error;
      throw new ChatwireError(
        `cannot reach chatwire at ${baseUrl}: ${(error as Error).message}`,
        0,
        'network_error',
        { cause: error },
      );
    }
    return response;
  }

  async function json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await request(method, path, body, signal);
    if (!response.ok) throw await errorFromResponse(response);
    try {
      return (await response.json()) as T;
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw new ChatwireError(`chatwire sent a body that is not JSON`, response.status, 'bad_response', {
        cause: error,
      });
    }
  }

  function chatBody({ signal: _signal, ...request }: ChatRequest, stream: boolean) {
    return { ...request, stream };
  }

  async function reply(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<ChatReply> {
    const chunk = await json<OllamaChunk & { message?: { content?: string; thinking?: string } }>(
      method,
      path,
      body,
      signal,
    );
    if (chunk.error !== undefined) throw new ChatwireError(String(chunk.error), 200, 'stream_error');
    if (chunk.done !== true) throw new ChatwireError('the reply ended without done:true', 200, 'truncated');
    const message = chunk.message ?? {};
    return {
      text: typeof message.content === 'string' ? message.content : '',
      ...(typeof message.thinking === 'string' && message.thinking !== '' && { thinking: message.thinking }),
      ...(Array.isArray(message.tool_calls) &&
        message.tool_calls.length > 0 && { toolCalls: message.tool_calls }),
      stats: statsOf(chunk),
      ...(chunk.done_reason !== undefined && { doneReason: chunk.done_reason }),
      ...(chunk.model !== undefined && { model: chunk.model }),
    };
  }

  const conversationPath = (id: string) => `/v1/conversations/${encodeURIComponent(id)}`;
  const attempts = options.resume === false ? 0 : (options.resume?.attempts ?? 3);
  // Without resuming, a stream that is left stops the model at once, conversation replies included.
  const detach: Record<string, string> = { 'chatwire-on-disconnect': attempts > 0 ? 'detach' : 'abort' };
  const generationPath = (id: string) => `/v1/generations/${encodeURIComponent(id)}`;
  const resumer = (signal: AbortSignal | undefined): Resumer | undefined =>
    attempts === 0
      ? undefined
      : {
          attempts,
          ...(signal && { signal }),
          resume: (id, after) =>
            request('GET', `${generationPath(id)}/stream?after=${after}`, undefined, signal),
          stop: (id) => {
            // Not the caller's signal: it may be the abort that asks for this stop.
            request('POST', `${generationPath(id)}/stop`).catch(() => {});
          },
        };

  return {
    chat: {
      stream: (input) =>
        new ChatStream(
          () => request('POST', '/v1/chat', chatBody(input, true), input.signal, detach),
          resumer(input.signal),
          input.signal,
        ),
      send: (input) => reply('POST', '/v1/chat', chatBody(input, false), input.signal),
    },
    conversations: {
      async create({ signal, ...input } = {}) {
        return toConversation(await json<ConversationJson>('POST', '/v1/conversations', input, signal));
      },
      async list({ limit, cursor, signal } = {}) {
        const query = new URLSearchParams();
        if (limit !== undefined) query.set('limit', String(limit));
        if (cursor !== undefined) query.set('cursor', cursor);
        const search = `${query}` === '' ? '' : `?${query}`;
        const page = await json<{ conversations: ConversationJson[]; next_cursor: string | null }>(
          'GET',
          `/v1/conversations${search}`,
          undefined,
          signal,
        );
        return {
          conversations: page.conversations.map(toConversation),
          nextCursor: page.next_cursor ?? null,
        };
      },
      async get(id, { signal } = {}) {
        const body = await json<ConversationJson & { messages: MessageJson[] }>(
          'GET',
          conversationPath(id),
          undefined,
          signal,
        );
        return { ...toConversation(body), messages: body.messages.map(toMessage) };
      },
      async rename(id, title, { signal } = {}) {
        return toConversation(await json<ConversationJson>('PATCH', conversationPath(id), { title }, signal));
      },
      async delete(id, { signal } = {}) {
        const response = await request('DELETE', conversationPath(id), undefined, signal);
        if (!response.ok) throw await errorFromResponse(response);
      },
      stream: (id, { signal, ...input }) =>
        new ChatStream(
          () =>
            request('POST', `${conversationPath(id)}/messages`, { ...input, stream: true }, signal, detach),
          resumer(signal),
          signal,
        ),
      send: (id, { signal, ...input }) =>
        reply('POST', `${conversationPath(id)}/messages`, { ...input, stream: false }, signal),
      regenerate: (id, { signal, ...input } = {}) =>
        new ChatStream(
          () =>
            request('POST', `${conversationPath(id)}/regenerate`, { ...input, stream: true }, signal, detach),
          resumer(signal),
          signal,
        ),
    },
    personas: {
      async list({ signal } = {}) {
        return (await json<{ personas: Persona[] }>('GET', '/v1/personas', undefined, signal)).personas;
      },
    },
    models: {
      async list({ signal } = {}) {
        const tags = await json<{ models: Array<{ name: string }> }>('GET', '/api/tags', undefined, signal);
        return tags.models.map((model) => model.name);
      },
    },
  };
}

interface ConversationJson {
  id: string;
  persona: string;
  title: string | null;
  created_at: string;
  updated_at: string;
}

interface MessageJson {
  id: string;
  seq: number;
  role: ConversationMessage['role'];
  content: string;
  status: ConversationMessage['status'];
  error: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  created_at: string;
  updated_at: string;
}

function toConversation(body: ConversationJson): Conversation {
  return {
    id: body.id,
    persona: body.persona,
    title: body.title,
    createdAt: body.created_at,
    updatedAt: body.updated_at,
  };
}

function toMessage(body: MessageJson): ConversationMessage {
  return {
    id: body.id,
    seq: body.seq,
    role: body.role,
    content: body.content,
    status: body.status,
    error: body.error,
    promptTokens: body.prompt_tokens,
    completionTokens: body.completion_tokens,
    ttftMs: body.ttft_ms,
    durationMs: body.duration_ms,
    createdAt: body.created_at,
    updatedAt: body.updated_at,
  };
}
