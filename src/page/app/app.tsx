import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { Conversation, Persona } from '../../client/index';
import { clientFor } from './api';
import { ChatView } from './chat-view';
import { type Explained, explainError } from './explain-error';
import { KeyDialog } from './key-dialog';
import { storedKey, storeKey } from './key-storage';
import { Sidebar } from './sidebar';
import { useConversation } from './use-conversation';

const PAGE_SIZE = 50;

/** The open conversation lives in the URL's hash, so a reload (or a shared link) opens it again. */
function idFromHash(): string | undefined {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

export function App() {
  const [apiKey, setApiKey] = useState(storedKey);
  const [keyState, setKeyState] = useState<'ok' | 'needed' | 'rejected'>('ok');
  const client = useMemo(() => clientFor(apiKey), [apiKey]);
  const [current, setCurrent] = useState(idFromHash);
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [personas, setPersonas] = useState<Persona[]>([]);
  const [models, setModels] = useState<string[]>([]);
  const [persona, setPersona] = useState<string | undefined>();
  const [model, setModel] = useState<string | undefined>();
  const [sidebarOpen, setSidebarOpen] = useState(false);

  const onError = useCallback(
    (error: Explained) => {
      if (error.needsKey) setKeyState(apiKey === undefined ? 'needed' : 'rejected');
    },
    [apiKey],
  );
  // A list, rename or delete that failed is said at the top; a turn's failure is said in its reply instead.
  const [notice, setNotice] = useState<Explained | undefined>();
  const guard = useCallback(
    (error: unknown) => {
      const explained = explainError(error);
      onError(explained);
      if (!explained.needsKey) setNotice(explained);
    },
    [onError],
  );

  const refreshList = useCallback(() => {
    client.conversations
      .list({ limit: PAGE_SIZE })
      .then((page) => {
        setConversations(page.conversations);
        setCursor(page.nextCursor);
      })
      .catch(guard);
  }, [client, guard]);

  useEffect(() => {
    refreshList();
    client.personas.list().then(setPersonas).catch(guard);
    client.models.list().then(setModels).catch(guard);
  }, [client, refreshList, guard]);

  useEffect(() => {
    const onHash = () => setCurrent(idFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const open = (id: string | undefined) => {
    location.hash = id === undefined ? '' : `#/c/${encodeURIComponent(id)}`;
    setCurrent(id);
    setSidebarOpen(false);
  };

  const currentConversation = conversations.find((conversation) => conversation.id === current);
  const conversation = useConversation({
    client,
    id: current,
    persona,
    model,
    onCreated: (id) => {
      history.replaceState(null, '', `#/c/${encodeURIComponent(id)}`);
      setCurrent(id);
    },
    onTurnEnded: refreshList,
    onError,
  });
  const personaOf = personas.find(
    (entry) => entry.name === (currentConversation?.persona ?? persona ?? 'default'),
  );

  return (
    <div class="layout">
      <header class="top">
        <button
          type="button"
          class="icon menu"
          aria-label="Conversations"
          aria-expanded={sidebarOpen}
          onClick={() => setSidebarOpen(!sidebarOpen)}
        >
          ☰
        </button>
        <h1>chatwire</h1>
        {current === undefined && personas.length > 1 ? (
          <label>
            <span class="visually-hidden">Persona</span>
            <select value={persona ?? 'default'} onChange={(event) => setPersona(event.currentTarget.value)}>
              {personas.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name}
                </option>
              ))}
            </select>
          </label>
        ) : (
          personaOf !== undefined && <span class="persona">{personaOf.name}</span>
        )}
        <label>
          <span class="visually-hidden">Model</span>
          <select
            value={model ?? ''}
            onChange={(event) =>
              setModel(event.currentTarget.value === '' ? undefined : event.currentTarget.value)
            }
          >
            <option value="">{personaOf ? `${personaOf.model} (persona's)` : "persona's model"}</option>
            {models
              .filter((name) => name !== personaOf?.model)
              .map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
          </select>
        </label>
      </header>
      <Sidebar
        conversations={conversations}
        current={current}
        open={sidebarOpen}
        hasMore={cursor !== null}
        onNew={() => open(undefined)}
        onOpen={open}
        onRename={(id, title) => {
          client.conversations.rename(id, title).then(refreshList).catch(guard);
        }}
        onDelete={(id) => {
          client.conversations
            .delete(id)
            .then(() => {
              if (id === current) open(undefined);
              refreshList();
            })
            .catch(guard);
        }}
        onMore={() => {
          if (cursor === null) return;
          client.conversations
            .list({ limit: PAGE_SIZE, cursor })
            .then((page) => {
              setConversations((shown) => [...shown, ...page.conversations]);
              setCursor(page.nextCursor);
            })
            .catch(guard);
        }}
      />
      {notice !== undefined && (
        <p class="notice" role="alert">
          {notice.text}
          <button type="button" class="icon" aria-label="Dismiss" onClick={() => setNotice(undefined)}>
            ✕
          </button>
        </p>
      )}
      <ChatView
        conversation={conversation}
        empty="Ask anything. Enter sends, Shift+Enter adds a line, Esc stops."
      />
      {keyState !== 'ok' && (
        <KeyDialog
          rejected={keyState === 'rejected'}
          onKey={(key) => {
            storeKey(key);
            setApiKey(key);
            setKeyState('ok');
          }}
        />
      )}
    </div>
  );
}
