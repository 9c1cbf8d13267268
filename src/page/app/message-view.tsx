import { useEffect, useRef } from 'preact/hooks';
import { renderMarkdownProgressively } from '../markdown/render-markdown';
import type { ViewMessage } from './view-message';

const STATE_LABEL = { stopped: 'Stopped', cut: 'Cut off', failed: 'Failed' } as const;

export function MessageView(props: {
  message: ViewMessage;
  onRetry?: () => void;
  onRegenerate?: () => void;
}) {
  const { message, onRetry, onRegenerate } = props;
  const body = useRef<HTMLDivElement>(null);
  const thinking = useRef<HTMLDetailsElement>(null);
  const { live } = message;

  useEffect(() => {
    const target = body.current;
    if (target === null) return;
    // A live reply keeps its element when it ends: what was streamed stays as it was rendered.
    if (live !== undefined) live.attach(target, thinking.current ?? undefined);
    else if (message.role === 'assistant') return renderMarkdownProgressively(target, message.content);
    else target.textContent = message.content;
  }, [live, message.role === 'assistant' && live === undefined ? message.content : undefined]);

  const failedBeforeText = message.state === 'failed';
  return (
    <article
      class={`message ${message.role} ${message.state}`}
      aria-busy={message.state === 'streaming'}
      aria-label={message.role === 'user' ? 'You said' : 'Reply'}
    >
      {live !== undefined && (
        <details class="thinking" ref={thinking} hidden>
          <summary>Thinking</summary>
          <pre />
        </details>
      )}
      {!failedBeforeText && <div class="body" ref={body} />}
      {message.state === 'streaming' && live === undefined && <p class="note">Still being written…</p>}
      {(message.state === 'stopped' || message.state === 'cut' || message.state === 'failed') && (
        <div class={`ending ${message.state}`} role={message.state === 'stopped' ? undefined : 'alert'}>
          <strong>{STATE_LABEL[message.state]}</strong>
          {message.error !== undefined && <span class="error-text"> {message.error.text}</span>}
          {message.error?.detail !== undefined && <small class="error-detail">{message.error.detail}</small>}
          {onRetry !== undefined && message.state !== 'stopped' && (
            <button type="button" class="retry" onClick={onRetry}>
              Retry
            </button>
          )}
        </div>
      )}
      {message.role === 'assistant' && message.state !== 'streaming' && (
        <footer class="meta">
          {message.stats?.ttftMs !== undefined && (
            <span title="Time to first token">{formatMs(message.stats.ttftMs)} to first token</span>
          )}
          {message.stats?.tokensPerSecond !== undefined && message.stats.tokensPerSecond > 0 && (
            <span>{message.stats.tokensPerSecond.toFixed(1)} tokens/s</span>
          )}
          {onRegenerate !== undefined && (
            <button type="button" class="regenerate" onClick={onRegenerate}>
              Regenerate
            </button>
          )}
        </footer>
      )}
    </article>
  );
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
