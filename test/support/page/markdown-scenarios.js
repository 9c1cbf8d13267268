// Runs in headless Chromium, bundled with the Markdown renderer by markdown-harness.ts: each export is one
// scenario of test/integration/page/markdown-browser.test.ts and returns what the test checks.
import { renderMarkdown } from '../../../src/page/markdown/render-markdown';
import { StreamingMarkdown } from '../../../src/page/markdown/streaming-markdown';

/** mulberry32: random chunkings that are the same on every run. */
function random(seed) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function freshTarget() {
  const target = document.createElement('div');
  target.className = 'reply';
  document.body.append(target);
  return target;
}

/** A scheduler the scenario runs by hand. */
function manualSchedule() {
  const queue = [];
  return {
    schedule: (flush) => queue.push(flush),
    run: () => {
      for (const flush of queue.splice(0)) flush();
    },
  };
}

function view(target) {
  return { text: target.innerText, html: target.innerHTML };
}

/** The same text streamed in different chunkings (flushed at random moments) and rendered in one go. */
export function equivalence(text, seed) {
  const next = random(seed);
  // Flushes come about once per frame: a frame holds some tokens, rarely one.
  const chunkings = {
    'one character': [() => 1, 0.05],
    '1 to 8 characters': [() => 1 + Math.floor(next() * 8), 0.2],
    'whole text': [() => text.length, 1],
  };
  const once = freshTarget();
  renderMarkdown(once, text);
  const streamed = {};
  for (const [name, [size, flushOdds]] of Object.entries(chunkings)) {
    const target = freshTarget();
    const { schedule, run } = manualSchedule();
    const markdown = new StreamingMarkdown(target, { schedule });
    for (let at = 0; at < text.length; ) {
      const delta = text.slice(at, at + size());
      markdown.append(delta);
      at += delta.length;
      if (next() < flushOdds) run();
    }
    markdown.finish();
    run();
    streamed[name] = { ...view(target), sameText: markdown.text === text };
    target.remove();
  }
  const reference = view(once);
  once.remove();
  return { reference, streamed };
}

/** What the tail shows while a fence is open, and whether frozen blocks are ever touched again. */
export function openFence() {
  const target = freshTarget();
  const { schedule, run } = manualSchedule();
  const markdown = new StreamingMarkdown(target, { schedule });
  const seen = {};
  markdown.append('First **paragraph**.\n\n- a list\n  ```js\n  const a = 1;\n');
  run();
  const frozen = target.querySelector('.md-block');
  const mutations = new MutationObserver(() => {});
  mutations.observe(frozen, { subtree: true, childList: true, characterData: true, attributes: true });
  const frozenHtml = frozen.innerHTML;
  const code = () => target.querySelector('.md-tail pre.md-open-fence code');
  seen.listBeforeFence = target.querySelector('.md-tail .md-live li')?.textContent ?? null;
  seen.openCode = code()?.textContent ?? null;
  const node = code()?.firstChild;
  markdown.append('  const b = "<b>not bold</b>";');
  run();
  seen.sameTextNode = code()?.firstChild === node;
  seen.grownCode = code()?.textContent ?? null;
  seen.copyButtonInOpenFence = target.querySelector('.md-open-fence > button.copy-code') !== null;
  markdown.append('\n  ```\n\nAfter the list.\n\n```\nunclosed');
  run();
  seen.closedInList = target.querySelector('.md-block li pre code')?.textContent ?? null;
  seen.tailFenceAfterClose = target.querySelector('.md-tail pre.md-open-fence code')?.textContent ?? null;
  markdown.finish();
  seen.finishedTail = target.querySelector('.md-tail') !== null;
  seen.lastCode = [...target.querySelectorAll('pre > code')].map((element) => element.textContent);
  seen.blocks = [...target.children].map((element) => element.className);
  seen.frozenUntouched =
    frozen.isConnected && frozen.innerHTML === frozenHtml && mutations.takeRecords().length === 0;
  target.remove();
  return seen;
}

/** Renders untrusted replies, streamed and one-shot, with traps set for anything that would run. */
export function hostile(replies) {
  window.__ran = [];
  for (const name of ['alert', 'confirm', 'prompt'])
    window[name] = (...args) => window.__ran.push([name, ...args]);
  const targets = [];
  for (const reply of replies) {
    const once = freshTarget();
    renderMarkdown(once, reply);
    const streamed = freshTarget();
    const { schedule, run } = manualSchedule();
    const markdown = new StreamingMarkdown(streamed, { schedule });
    for (const char of reply) {
      markdown.append(char);
      run();
    }
    markdown.finish();
    targets.push(once, streamed);
  }
  const elements = targets.flatMap((target) => [...target.querySelectorAll('*')]);
  const result = {
    tags: [...new Set(elements.map((element) => element.localName))].sort(),
    eventAttributes: elements.flatMap((element) =>
      element.getAttributeNames().filter((name) => name.toLowerCase().startsWith('on')),
    ),
    hrefs: [...new Set(elements.flatMap((element) => element.getAttribute('href') ?? []))],
    links: elements
      .filter((element) => element.localName === 'a')
      .map((element) => ({ target: element.target, rel: element.rel })),
    text: targets.map((target) => target.innerText).join('\n'),
  };
  return result;
}

/** Whether anything in the traps fired (asked after the page had a chance to run what it was tricked into). */
export function trapped() {
  return window.__ran;
}

/** A code block to click the copy button of. */
export function copyable(code) {
  const target = freshTarget();
  target.id = 'copyable';
  renderMarkdown(target, `Some code:\n\n\`\`\`sh\n${code}\n\`\`\`\n`);
}

function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

/**
 * Streams `text` in tokens with real animation frames and timers, the way replies arrive, and records every
 * long task and how long each flush took against how much text had arrived.
 */
/** The page's first render compiles marked and DOMPurify, once per page load: not what `stream` measures. */
export function warmUp(text) {
  const target = freshTarget();
  renderMarkdown(target, text.slice(0, 4000));
  target.remove();
}

export async function stream(text, { tokenSize, tokensPerBatch, batchDelayMs }) {
  const longTasks = [];
  const since = performance.now();
  const record = (entries) => {
    for (const entry of entries) if (entry.startTime >= since) longTasks.push(Math.round(entry.duration));
  };
  // Buffered, to miss none; earlier scenarios' tasks are left out by their start time.
  const observer = new PerformanceObserver((list) => record(list.getEntries()));
  observer.observe({ type: 'longtask', buffered: true });
  const target = freshTarget();
  const flushes = [];
  let appended = 0;
  const markdown = new StreamingMarkdown(target, {
    schedule: (flush) =>
      requestAnimationFrame(() => {
        const started = performance.now();
        flush();
        flushes.push([appended, performance.now() - started]);
      }),
  });
  const started = performance.now();
  let tokens = 0;
  for (let at = 0; at < text.length; at += tokenSize) {
    markdown.append(text.slice(at, at + tokenSize));
    appended = Math.min(text.length, at + tokenSize);
    if (++tokens % tokensPerBatch === 0) await new Promise((resolve) => setTimeout(resolve, batchDelayMs));
  }
  // Let the last frames render what arrived before finishing, as a reply's last token is followed by `done`.
  await nextFrame();
  const finishStarted = performance.now();
  markdown.finish();
  const finishMs = performance.now() - finishStarted;
  const streamMs = performance.now() - started;
  await nextTask();
  await nextFrame();
  await nextTask();
  record(observer.takeRecords());
  observer.disconnect();
  target.id = 'streamed';
  return { longTasks, flushes, finishMs, streamMs };
}

/** Whether what `stream` left on the page is what rendering its text in one go gives. */
export function sameAsOneShot(text) {
  const streamed = document.getElementById('streamed');
  const once = freshTarget();
  renderMarkdown(once, text);
  const same = once.innerText === streamed.innerText && once.innerHTML === streamed.innerHTML;
  streamed.remove();
  once.remove();
  return same;
}
