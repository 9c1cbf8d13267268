import { useEffect, useRef } from 'preact/hooks';

/** Asks for an API key when the gateway requires one; the key is kept in this browser's storage. */
export function KeyDialog(props: { rejected: boolean; onKey(key: string): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (dialog.current?.open === false) dialog.current.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="key-dialog"
      aria-labelledby="key-title"
      onCancel={(event) => event.preventDefault()}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          const key = String(new FormData(event.currentTarget).get('key') ?? '').trim();
          if (key !== '') props.onKey(key);
        }}
      >
        <h2 id="key-title">API key</h2>
        <p>
          {props.rejected ? 'That key was not accepted. ' : ''}This chatwire needs an API key (
          <code>chatwire keys create</code> makes one). It stays in this browser.
        </p>
        <label for="api-key">Key</label>
        <input id="api-key" name="key" type="password" autocomplete="off" placeholder="cw_…" required />
        <button type="submit">Use key</button>
      </form>
    </dialog>
  );
}
