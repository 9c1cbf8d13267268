import type { FastifyReply } from 'fastify';
import type { ChatMessage, ChatRequest } from '../../../contracts/chat-request.js';
import { GatewayError } from '../../../contracts/gateway-error.js';
import type { ReplyLock } from '../../../conversations/reply-lock.js';
import { type RecorderOptions, ReplyRecorder } from '../../../conversations/reply-recorder.js';
import { titleFrom, trimHistory } from '../../../conversations/trim-history.js';
import { assertModelAllowed } from '../../../persona/model-policy.js';
import type { PersonaDirectory } from '../../../persona/persona-directory.js';
import { ollamaChatEncoder } from '../../../protocol/ollama/ollama-chat-encoder.js';
import type { PendingWork } from '../../../relay/pending-work.js';
import { type RelayDeps, relayCollect, relayStream } from '../../../relay/relay-chat.js';
import type { Conversation, ConversationStore, StoredMessage } from '../../../storage/conversation-store.js';

export interface ReplyDeps {
  relay: RelayDeps;
  store: ConversationStore;
  personas: PersonaDirectory;
  /** The token budget for the history sent upstream (system prompt included). */
  contextTokens: number;
  /** The most messages sent upstream, as for any other request (CHATWIRE_MAX_MESSAGES); the newest are kept. */
  maxMessages: number;
  recorder: Omit<RecorderOptions, 'onSaveError'>;
  /** Turns in progress, so shutdown closes the store only after their last write. */
  pending: PendingWork;
  /** One turn per conversation at a time, across instances when they share Redis. */
  lock: ReplyLock;
  /** The models a turn may ask for instead of its persona's (CHATWIRE_ALLOWED_MODELS). */
  allowedModels: string[] | '*';
}

/** One turn: a new user message (`content`), or the last one answered again (`content` undefined). */
export interface TurnInput {
  content: string | undefined;
  stream: boolean;
  /** Instead of the persona's model, for this turn only. */
  model?: string;
}

/**
 * One turn of a stored conversation: the user message is stored before the upstream is called, the reply is
 * stored while it streams, and it ends `complete`, `interrupted` (the client left or chatwire stopped) or
 * `failed`. One turn per conversation at a time: a second one is refused with 409 rather than interleaved.
 * A regeneration replaces the last reply: it is deleted only once the turn holds the conversation.
 */
export function createConversationReplier(deps: ReplyDeps) {
  return async function replyInConversation(
    conversation: Conversation,
    input: TurnInput,
    reply: FastifyReply,
  ): Promise<void> {
    if (input.model !== undefined) assertModelAllowed(input.model, deps.allowedModels);
    if (!(await deps.lock.acquire(conversation.id))) {
      throw new GatewayError(
        'bad_request',
        409,
        `conversation '${conversation.id}' is already generating a reply`,
      );
    }
    try {
      await deps.pending.track(turn(conversation, input, reply));
    } finally {
      await deps.lock.release(conversation.id);
    }
  };

  async function turn(conversation: Conversation, input: TurnInput, reply: FastifyReply) {
    const { store } = deps;
    const persona = deps.personas.resolve(conversation.persona);
    if (input.content === undefined) {
      await store.deleteLastReply(conversation.id);
      const last = (await store.listMessages(conversation.id)).at(-1);
      if (last?.role !== 'user') {
        throw new GatewayError(
          'conflict',
          409,
          `conversation '${conversation.id}' has no user message to answer again`,
        );
      }
    } else {
      await store.addMessage(conversation.id, { role: 'user', content: input.content });
      if (conversation.title === null)
        await store.updateConversation(conversation.id, { title: titleFrom(input.content) });
    }
    const history = (await store.listMessages(conversation.id)).filter(belongsInHistory).map(toChatMessage);
    const system: ChatMessage | undefined = persona.systemPrompt
      ? { role: 'system', content: persona.systemPrompt }
      : undefined;
    const request: ChatRequest = {
      model: input.model ?? persona.model,
      messages: trimHistory(system, history.slice(-deps.maxMessages), deps.contextTokens),
      options: { temperature: persona.temperature, num_predict: persona.maxTokens, ...persona.options },
      routingKey: conversation.id,
    };

    const message = await store.startReply(conversation.id);
    const startedAt = performance.now();
    const recorder = new ReplyRecorder(store, message.id, {
      ...deps.recorder,
      onSaveError: (error) => reply.request.log.error({ err: error }, 'saving reply progress failed'),
    });
    const stats = reply.request.relayStats;
    const logRecordingError = (error: unknown) =>
      reply.request.log.error({ err: error }, 'recording the reply failed');
    const complete = (usage: { promptTokens: number; completionTokens: number }) =>
      recorder.finish({
        status: 'complete',
        ...usage,
        // Whole milliseconds: the columns are integers on every database.
        ttftMs: stats.ttftMs === undefined ? null : Math.round(stats.ttftMs),
        durationMs: Math.round(performance.now() - startedAt),
      });
    try {
      if (!input.stream) {
        const chunks = await relayCollect(deps.relay, { request, reply });
        recorder.observe(chunks);
        const done = chunks[chunks.length - 1];
        if (done?.type === 'done') await complete(done.usage);
        reply.type('application/json; charset=utf-8').send(ollamaChatEncoder.reply(chunks));
        return;
      }
      const outcome = await relayStream(deps.relay, {
        request,
        reply,
        encoder: ollamaChatEncoder,
        observe: (batch) => recorder.observe(batch),
        // Stored complete before the done line is sent: a client that has the whole reply has it stored.
        beforeDone: (done) => complete(done.usage).catch(logRecordingError),
        // A stored conversation is worth finishing: the reply is complete in it even if the client left.
        defaultPolicy: 'detach',
        conversationId: conversation.id,
      });
      // A store failure is the gateway's to log, not the client's: the text reached it either way.
      if (!outcome.ok) await recorder.finish(endingFor(outcome.error)).catch(logRecordingError);
    } catch (error) {
      await recorder.finish(endingFor(error as GatewayError));
      throw error;
    }
  }
}

/**
 * The client leaving, a stop (POST /v1/generations/…/stop, or a detached generation's time or memory running
 * out) or chatwire stopping interrupts a reply, keeping its text; anything else failed it.
 */
function endingFor(error: GatewayError) {
  if (
    error.code === 'client_closed' ||
    error.code === 'shutting_down' ||
    error.code === 'generation_stopped'
  ) {
    return { status: 'interrupted' as const, error: error.message };
  }
  return { status: 'failed' as const, error: error.message ?? String(error) };
}

/** Failed replies and empty interruptions carry nothing the model should see again. */
function belongsInHistory(message: StoredMessage): boolean {
  if (message.role !== 'assistant') return true;
  if (message.status === 'complete') return true;
  return message.status === 'interrupted' && message.content !== '';
}

function toChatMessage(message: StoredMessage): ChatMessage {
  return { role: message.role, content: message.content };
}
