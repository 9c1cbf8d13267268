import { useRef, useState } from 'preact/hooks';

/** Enter sends, Shift+Enter adds a line; typing stays possible while a reply streams. */
export function Composer(props: { streaming: boolean; onSend(text: string): void; onStop(): void }) {
  const [text, setText] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const send = () => {
    const content = text.trim();
    if (content === '' || props.streaming) return;
    props.onSend(content);
    setText('');
  };
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label class="visually-hidden" for="message">
        Message
      </label>
      <textarea
        id="message"
        ref={area}
        rows={2}
        placeholder="Message (Enter sends, Shift+Enter for a new line)"
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      {/*
        Two buttons, neither a submit button: when Stop's click ends the reply, the button that takes its place
        must not take the click's default action too and send what was typed meanwhile.
      */}
      {props.streaming ? (
        <button key="stop" type="button" class="stop" onClick={props.onStop} aria-keyshortcuts="Escape">
          Stop
        </button>
      ) : (
        <button key="send" type="button" class="send" disabled={text.trim() === ''} onClick={send}>
          Send
        </button>
      )}
    </form>
  );
}
