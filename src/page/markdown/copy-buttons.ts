const COPIED_MS = 1500;
const installed = new WeakSet<HTMLElement>();
const timers = new WeakMap<Element, ReturnType<typeof setTimeout>>();

/** One delegated listener per target copies the code next to any `.copy-code` button inside it. */
export function installCopyButtons(target: HTMLElement): void {
  if (installed.has(target)) return;
  installed.add(target);
  target.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button.copy-code') : null;
    const code = button?.parentElement?.querySelector('code');
    if (!button || !code || !target.contains(button)) return;
    navigator.clipboard.writeText(code.textContent ?? '').then(
      () => flash(button, 'Copied'),
      () => flash(button, 'Copy failed'),
    );
  });
}

function flash(button: Element, label: string): void {
  button.textContent = label;
  clearTimeout(timers.get(button));
  timers.set(
    button,
    setTimeout(() => {
      button.textContent = 'Copy';
    }, COPIED_MS),
  );
}
