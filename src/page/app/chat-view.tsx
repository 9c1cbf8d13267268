import { useEffect } from 'preact/hooks';
import { Composer } from './composer';
import { MessageView } from './message-view';
import type { ConversationState } from './use-conversation';
import { useStickToBottom } from './use-stick-to-bottom';

export function ChatView(props: { conversation: ConversationState; empty: string }) {
  const { messages, streaming, loading, loadError, send, regenerate, stop } = props.conversation;
  const { scroller, content, atBottom, toBottom } = useStickToBottom();

  useEffect(() => {
    if (!streaming) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [streaming, stop]);

  const last = messages.at(-1);
  return (
    <main class="chat">
      <section class="messages" ref={scroller} aria-label="Conversation">
        <div ref={content}>
          {loading && <p class="note">Loading…</p>}
          {loadError !== undefined && (
            <p class="note error" role="alert">
              {loadError.text}
            </p>
          )}
          {!loading && loadError === undefined && messages.length === 0 && <p class="note">{props.empty}</p>}
          {messages.map((message) => (
            <MessageView
              key={message.key}
              message={message}
              {...(message === last &&
                message.role === 'assistant' &&
                !streaming && { onRegenerate: regenerate, onRetry: regenerate })}
            />
          ))}
        </div>
      </section>
      {!atBottom && (
        <button type="button" class="to-bottom" onClick={toBottom}>
          ↓ Latest
        </button>
      )}
      <p class="visually-hidden" aria-live="polite">
        {streaming ? 'Reply streaming' : last?.role === 'assistant' ? `Reply ${last.state}` : ''}
      </p>
      <Composer streaming={streaming} onSend={send} onStop={stop} />
    </main>
  );
}
