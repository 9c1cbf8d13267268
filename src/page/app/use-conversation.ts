import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ChatStream, ChatwireClient } from '../../client/index';
import { type Explained, explainError } from './explain-error';
import { LiveReply } from './live-reply';
import { runReply } from './run-reply';
import { fromStored, localKey, type ViewMessage } from './view-message';

/** Right after a stop, the gateway records the interrupted reply for a moment and refuses a new turn with 409. */
const BUSY_RETRY_MS = 150;
const BUSY_PATIENCE_MS = 5000;

export interface ConversationState {
  messages: ViewMessage[];
  loading: boolean;
  loadError: Explained | undefined;
  streaming: boolean;
  send(content: string): Promise<void>;
  regenerate(): Promise<void>;
  stop(): void;
}

/**
 * One conversation's messages and its turns. `id` undefined is a new chat: the conversation is created with
 * the first message, and `onCreated` tells the app its id.
 */
export function useConversation(options: {
  client: ChatwireClient;
  id: string | undefined;
  persona: string | undefined;
  model: string | undefined;
  onCreated(id: string): void;
  onTurnEnded(): void;
  onError(error: Explained): void;
}): ConversationState {
  const { client, id } = options;
  const [messages, setMessages] = useState<ViewMessage[]>([]);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<Explained | undefined>();
  const [streaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | undefined>(undefined);
  // The conversation this hook created itself needs no loading: its messages are already on screen.
  const created = useRef<string | undefined>(undefined);
  const latest = useRef(options);
  latest.current = options;

  useEffect(() => {
    // The id this hook was just given for the conversation it created keeps its streaming turn.
    if (id !== undefined && created.current === id) return;
    controller.current?.abort();
    if (id === undefined) {
      setMessages([]);
      setLoadError(undefined);
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    setLoadError(undefined);
    client.conversations
      .get(id, { signal: abort.signal })
      .then((conversation) => setMessages(conversation.messages.filter(shown).map(fromStored)))
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        const explained = explainError(error);
        setLoadError(explained);
        latest.current.onError(explained);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [client, id]);

  const turn = useCallback(
    async (
      open: (conversationId: string, signal: AbortSignal) => ChatStream,
      replaceLast: boolean,
      userText?: string,
    ) => {
      if (controller.current !== undefined) return;
      const abort = new AbortController();
      controller.current = abort;
      const live = new LiveReply();
      const reply: ViewMessage = {
        key: localKey(),
        role: 'assistant',
        content: '',
        state: 'streaming',
        live,
      };
      setStreaming(true);
      setMessages((current) => {
        const kept = replaceLast && current.at(-1)?.role === 'assistant' ? current.slice(0, -1) : current;
        const user: ViewMessage[] =
          userText === undefined
            ? []
            : [{ key: localKey(), role: 'user', content: userText, state: 'complete' }];
        return [...kept, ...user, reply];
      });
      const update = (changes: Partial<ViewMessage>) =>
        setMessages((current) =>
          current.map((message) => (message.key === reply.key ? { ...message, ...changes } : message)),
        );
      try {
        let conversationId = latest.current.id;
        if (conversationId === undefined) {
          const persona = latest.current.persona;
          conversationId = (await client.conversations.create(persona === undefined ? {} : { persona })).id;
          created.current = conversationId;
          latest.current.onCreated(conversationId);
        }
        const end = await runWhenFree(
          () => runReply(open(conversationId as string, abort.signal), live, abort.signal),
          abort.signal,
        );
        update(
          end.state === 'complete'
            ? { state: 'complete', stats: end.stats }
            : end.state === 'stopped'
              ? { state: 'stopped' }
              : { state: end.state, error: end.error },
        );
        if (end.state === 'failed' || end.state === 'cut') latest.current.onError(end.error);
      } catch (error) {
        const explained = explainError(error);
        update({ state: 'failed', error: explained });
        latest.current.onError(explained);
      } finally {
        controller.current = undefined;
        setStreaming(false);
        latest.current.onTurnEnded();
      }
    },
    [client],
  );

  const modelInput = () => (latest.current.model === undefined ? {} : { model: latest.current.model });
  const send = useCallback(
    (content: string) =>
      turn(
        (conversationId, signal) =>
          client.conversations.stream(conversationId, { content, signal, ...modelInput() }),
        false,
        content,
      ),
    [client, turn],
  );
  const regenerate = useCallback(
    () =>
      turn(
        (conversationId, signal) =>
          client.conversations.regenerate(conversationId, { signal, ...modelInput() }),
        true,
      ),
    [client, turn],
  );
  const stop = useCallback(() => controller.current?.abort(), []);

  return { messages, loading, loadError, streaming, send, regenerate, stop };
}

/** The turn is refused with 409 while the previous one is still being recorded: try again for a moment. */
async function runWhenFree<T extends { state: string; error?: Explained }>(
  run: () => Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  const deadline = performance.now() + BUSY_PATIENCE_MS;
  for (;;) {
    const end = await run();
    const busy = end.state === 'failed' && end.error?.status === 409;
    if (!busy || signal.aborted || performance.now() > deadline) return end;
    await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
  }
}

/** The page shows the conversation's turns; system messages are the persona's business. */
function shown(message: { role: string }): boolean {
  return message.role === 'user' || message.role === 'assistant';
}
