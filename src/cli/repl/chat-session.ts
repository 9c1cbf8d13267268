import { setTimeout as pause } from 'node:timers/promises';
import type { ChatStream } from '../../client/chat-stream.js';
import type { ChatwireClient } from '../../client/client.js';
import { ChatwireError } from '../../client/errors.js';
import type { ChatEvent, ConversationMessage } from '../../client/types.js';

export interface HistoryEntry {
  role: 'user' | 'assistant';
  content: string;
  /** Why a reply is not the whole answer: interrupted, or failed with the error. */
  note?: string;
}

/** Where the current conversation's history lives; `none` until its first message. */
type Keeper = { kind: 'none' } | { kind: 'server'; id: string } | { kind: 'local' };

// After Ctrl-C the gateway still records the interrupted reply for a moment and answers 409 meanwhile.
const BUSY_RETRIES = 20;
const BUSY_RETRY_MS = 100;

/**
 * The REPL's conversation. chatwire keeps it (POST /v1/conversations, created with the first message) while
 * the gateway has that API and the persona's own model is used; otherwise the history is kept here and sent
 * whole to /v1/chat each turn. Both follow the server's rules: your message stays even when its reply fails,
 * a reply is kept when it completed or was interrupted after some text.
 */
export class ChatSession {
  private keeper: Keeper = { kind: 'none' };
  private transcript: HistoryEntry[] = [];
  private conversationsApi = true;

  constructor(
    private readonly client: ChatwireClient,
    private settings: { persona?: string; model?: string },
    private readonly notice: (text: string) => void,
  ) {}

  get persona(): string {
    return this.settings.persona ?? 'default';
  }

  /** The model chosen with --model or /model; undefined means the persona's own. */
  get model(): string | undefined {
    return this.settings.model;
  }

  /** Streams the reply to `content`; the history is updated however the stream ends. */
  async *send(content: string, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const keeper = await this.keeperForTurn(signal);
    if (keeper.kind === 'server') {
      yield* retryWhileBusy(() => this.client.conversations.stream(keeper.id, { content, signal }), signal);
      return;
    }
    const messages = this.transcript.map(({ role, content }) => ({ role, content }));
    let text = '';
    let completed = false;
    try {
      for await (const event of this.client.chat.stream({
        messages: [...messages, { role: 'user', content }],
        ...(this.settings.model !== undefined && { model: this.settings.model }),
        ...(this.settings.persona !== undefined && { persona: this.settings.persona }),
        signal,
      })) {
        if (event.type === 'text') text += event.text;
        if (event.type === 'done') completed = true;
        yield event;
      }
    } finally {
      this.transcript.push({ role: 'user', content });
      if (completed) this.transcript.push({ role: 'assistant', content: text });
      else if (signal.aborted && text !== '')
        this.transcript.push({ role: 'assistant', content: text, note: 'interrupted' });
    }
  }

  /** Takes effect from the next message; a conversation chatwire keeps goes on here (it keeps one persona). */
  async setPersona(name: string, signal: AbortSignal): Promise<void> {
    const known = await this.client.personas.list({ signal }).catch(() => undefined);
    if (known && !known.some((persona) => persona.name === name)) {
      throw new Error(`unknown persona '${name}': the personas are ${known.map((p) => p.name).join(', ')}`);
    }
    await this.continueLocally(signal);
    this.settings = { ...this.settings, persona: name };
  }

  /**
   * Takes effect from the next message; a conversation chatwire keeps goes on here (it uses its persona's
   * model). `undefined` goes back to the persona's own model.
   */
  async setModel(name: string | undefined, signal: AbortSignal): Promise<void> {
    await this.continueLocally(signal);
    const { model: _previous, ...rest } = this.settings;
    this.settings = name === undefined ? rest : { ...rest, model: name };
  }

  /** The persona's model, as the gateway lists it. */
  async personaModel(signal: AbortSignal): Promise<string | undefined> {
    const personas = await this.client.personas.list({ signal }).catch(() => []);
    return personas.find((persona) => persona.name === this.persona)?.model;
  }

  startOver(): void {
    this.keeper = { kind: 'none' };
    this.transcript = [];
  }

  async history(signal: AbortSignal): Promise<HistoryEntry[]> {
    if (this.keeper.kind !== 'server') return [...this.transcript];
    const { messages } = await this.client.conversations.get(this.keeper.id, { signal });
    return messages.flatMap(toEntry);
  }

  private async keeperForTurn(signal: AbortSignal): Promise<Keeper> {
    if (this.keeper.kind !== 'none') return this.keeper;
    if (this.conversationsApi && this.settings.model === undefined) {
      try {
        const { id } = await this.client.conversations.create({
          ...(this.settings.persona !== undefined && { persona: this.settings.persona }),
          signal,
        });
        this.keeper = { kind: 'server', id };
        return this.keeper;
      } catch (error) {
        if (!(error instanceof ChatwireError && error.status === 404)) throw error;
        this.conversationsApi = false;
        this.notice('this gateway keeps no conversations: the history is sent with each message');
      }
    }
    this.keeper = { kind: 'local' };
    return this.keeper;
  }

  /** Brings the history of a conversation chatwire keeps over here, to send it whole from now on. */
  private async continueLocally(signal: AbortSignal): Promise<void> {
    if (this.keeper.kind !== 'server') return;
    const history = await this.history(signal);
    this.transcript = history.filter((entry) => !entry.note?.startsWith('failed'));
    this.keeper = { kind: 'local' };
    this.notice(
      'from here on this conversation is sent whole with each message (one chatwire keeps stays with the ' +
        'persona and model it began with)',
    );
  }
}

/** What the gateway sends upstream again: failed replies and empty interrupted ones are left out of it. */
function toEntry(message: ConversationMessage): HistoryEntry[] {
  if (message.role !== 'user' && message.role !== 'assistant') return [];
  if (message.status === 'complete' || message.role === 'user')
    return [{ role: message.role, content: message.content }];
  if (message.status === 'interrupted' && message.content !== '')
    return [{ role: message.role, content: message.content, note: 'interrupted' }];
  if (message.status === 'failed')
    return [
      { role: message.role, content: message.content, note: `failed: ${message.error ?? 'unknown error'}` },
    ];
  return [];
}

async function* retryWhileBusy(open: () => ChatStream, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  for (let attempt = 1; ; attempt++) {
    const events = open()[Symbol.asyncIterator]();
    let first: IteratorResult<ChatEvent>;
    try {
      first = await events.next();
    } catch (error) {
      const busy = error instanceof ChatwireError && error.status === 409;
      if (!busy || attempt >= BUSY_RETRIES || signal.aborted) throw error;
      await pause(BUSY_RETRY_MS, undefined, { signal });
      continue;
    }
    if (first.done) return;
    yield first.value;
    yield* { [Symbol.asyncIterator]: () => events };
    return;
  }
}
