import { useState } from 'preact/hooks';
import type { Conversation } from '../../client/index';

export function Sidebar(props: {
  conversations: Conversation[];
  current: string | undefined;
  open: boolean;
  hasMore: boolean;
  onNew(): void;
  onOpen(id: string): void;
  onRename(id: string, title: string): void;
  onDelete(id: string): void;
  onMore(): void;
}) {
  const [editing, setEditing] = useState<string | undefined>();
  return (
    <nav class={`sidebar${props.open ? ' open' : ''}`} aria-label="Conversations">
      <button type="button" class="new-chat" onClick={props.onNew}>
        + New chat
      </button>
      <ul>
        {props.conversations.map((conversation) => (
          <li key={conversation.id} class={conversation.id === props.current ? 'current' : undefined}>
            {editing === conversation.id ? (
              <form
                class="rename"
                onSubmit={(event) => {
                  event.preventDefault();
                  const title = String(new FormData(event.currentTarget).get('title') ?? '').trim();
                  if (title !== '') props.onRename(conversation.id, title);
                  setEditing(undefined);
                }}
              >
                <input
                  name="title"
                  aria-label="New title"
                  maxLength={200}
                  value={conversation.title ?? ''}
                  ref={(input) => input?.focus()}
                  onKeyDown={(event) => event.key === 'Escape' && setEditing(undefined)}
                  onBlur={(event) => event.currentTarget.form?.requestSubmit()}
                />
              </form>
            ) : (
              <>
                <button
                  type="button"
                  class="open-chat"
                  aria-current={conversation.id === props.current ? 'page' : undefined}
                  onClick={() => props.onOpen(conversation.id)}
                >
                  {conversation.title ?? 'Untitled'}
                </button>
                <button
                  type="button"
                  class="icon"
                  aria-label={`Rename ${conversation.title ?? 'Untitled'}`}
                  onClick={() => setEditing(conversation.id)}
                >
                  ✎
                </button>
                <button
                  type="button"
                  class="icon"
                  aria-label={`Delete ${conversation.title ?? 'Untitled'}`}
                  onClick={() =>
                    confirm(`Delete “${conversation.title ?? 'Untitled'}”?`) &&
                    props.onDelete(conversation.id)
                  }
                >
                  ✕
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {props.hasMore && (
        <button type="button" class="more" onClick={props.onMore}>
          More…
        </button>
      )}
    </nav>
  );
}
