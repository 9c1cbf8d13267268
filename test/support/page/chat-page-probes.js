// Runs in the chat page before its own scripts (addInitScript): what the tests read from inside the browser.
window.chatwireProbes = {
  replyLengths: [],
  longTasks: [],
  /** Records each distinct length the last reply's text has, as the browser renders it. */
  recordReplyLengths() {
    const seen = this.replyLengths;
    new MutationObserver(() => {
      const body = [...document.querySelectorAll('article.assistant .body')].at(-1);
      const length = body?.textContent?.length ?? 0;
      if (length !== seen.at(-1)) seen.push(length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  },
  /** Wall-time long tasks, as PerformanceObserver reports them. */
  recordLongTasks() {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.longTasks.push(Math.round(entry.duration));
    }).observe({ type: 'longtask' });
  },
  /** Every event-handler attribute in an element's subtree. */
  handlersIn(element) {
    return [...element.querySelectorAll('*')].flatMap((node) =>
      node.getAttributeNames().filter((name) => name.startsWith('on')),
    );
  },
};
