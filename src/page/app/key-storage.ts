// The key is the user's own, typed into this page: it stays in this browser, for this origin only.
const KEY = 'chatwire.apiKey';

export function storedKey(): string | undefined {
  try {
    return localStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeKey(key: string | undefined): void {
  try {
    if (key === undefined) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, key);
  } catch {
    // Storage can be off (private windows, policies); the key then lasts as long as the page.
  }
}
