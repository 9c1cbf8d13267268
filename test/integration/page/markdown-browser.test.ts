// The chat page renders a reply as Markdown while it streams in. In headless Chromium: streamed and one-shot
// renders agree whatever the token boundaries, a long reply never blocks the main thread, a hostile reply runs
// nothing and loads nothing, and copy buttons copy.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsRun, launchChromium } from '../../support/chromium.js';
import { traceMainThreadTasks } from '../../support/main-thread-tasks.js';
import { buildMarkdownHarness, type MarkdownHarness } from '../../support/page/markdown-harness.js';
import { startStaticServer } from '../../support/static-server.js';

const runInBrowser = browserTestsRun('the browser test of the Markdown renderer');

const SAMPLE = [
  '# A heading\n\nA paragraph with *emphasis*, **strong**, `code`, ~~struck~~ and a [link](https://example.com).',
  'Setext heading\n---\n\nA paragraph\nwrapped on two lines\\\nwith a hard break.',
  '- tight\n- list\n  - nested\n\n- loose item\n\n  second paragraph\n\n1. one\n2. two\n\n3. three',
  '- [ ] a task\n- [x] done',
  '> a quote\n> with **bold**\n\n> another quote',
  '| left | right |\n|:-----|------:|\n| a | b |\n| c | `d` |',
  '```ts\nconst a = 1;\n\nconst b = "<b>";\n```\n~~~~\n```\nnot the end\n```\n~~~~',
  '1. Run this:\n   ```sh\n   npm test\n\n   echo done\n   ```\n2. Then that.',
  '    indented code\n\n***\n\nText with <span>html</span> and <br> tags.\n\n<div>\nblock html\n</div>',
  `A long paragraph on one line: ${'Every sentence ends. '.repeat(160)}\n\nA long wrapped one:\n${'a line of text\n'.repeat(200)}`,
  `${Array.from({ length: 150 }, (_, index) => `${index + 1}. item number ${index + 1}`).join('\n')}`,
  'Windows line ends\r\n\r\n```\r\ncode\r\n```\r\n',
  'Last, an unclosed fence:\n\n```python\nprint("streamed")\n\nprint("never closed")',
].join('\n\n');

const HOSTILE = [
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(2))',
  '[click](<java\tscript:alert(3)>)',
  '[click](&#106;avascript:alert(4))',
  '[click](javascript&colon;alert(5))',
  '<javascript:alert(6)>',
  '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)',
  '[click][ref]\n[ref]: javascript:alert(8)',
  '<img src=x onerror=alert(9)>',
  '<img src="https://img.example/pixel.png">',
  '![tracker](https://img.example/tracker.png)',
  '![x](javascript:alert(10))',
  '<script>alert(11)</script>',
  '<a href="javascript:alert(12)">raw link</a>',
  '<svg onload=alert(13)></svg>',
  '<iframe src="https://evil.example"></iframe>',
  '<style>body { background: url(https://img.example/bg.png) }</style>',
  '<div onmouseover="alert(14)" style="position:fixed;inset:0">cover</div>',
  '```"><img src=x onerror=alert(15)>\ncode\n```',
  '[ok](https://example.com "title\\" onmouseover=\\"alert(16)")',
];

/** Sections of mixed Markdown, about `bytes` of them. */
function mixed(from: number, bytes: number): string {
  const parts: string[] = [];
  for (let i = from, size = 0; size < bytes; i++) {
    const part = [
      `## Section ${i}`,
      `Paragraph ${i} has *emphasis*, **strong** words, \`code\` and a [link](https://example.com/${i}). `.repeat(
        3,
      ),
      `- item ${i}.1\n- item ${i}.2 with \`code\`\n  continued\n- item ${i}.3`,
      `| key | value |\n|---|---|\n| a${i} | ${i * 2} |\n| b${i} | ${i * 3} |`,
      `\`\`\`ts\nfunction f${i}(x: number) {\n  // <tags> & "quotes"\n\n  return x * ${i};\n}\n\`\`\``,
    ].join('\n\n');
    parts.push(part);
    size += part.length + 2;
  }
  return `${parts.join('\n\n')}\n\n`;
}

/** A reply of over 100 kB with the two worst cases in it: a 30 kB one-line paragraph and a 40 kB code block. */
function longReply() {
  let paragraph = '';
  for (let i = 0; paragraph.length < 30_000; i++)
    paragraph += `Sentence ${i} has **bold** and \`code\` in it. `;
  paragraph += '\n\n';
  const code = `\`\`\`js\n${'const value = compute(input, "string", 42); // and a comment\n'.repeat(700)}\`\`\`\n\n`;
  return {
    text: mixed(0, 14_000) + paragraph + mixed(100, 14_000) + code + mixed(200, 14_000),
    paragraph,
    code,
  };
}

describe.runIf(runInBrowser)(
  'the streaming Markdown renderer in headless Chromium',
  { timeout: 30_000 },
  () => {
    let harness: MarkdownHarness;
    let site: Awaited<ReturnType<typeof startStaticServer>>;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];
    const foreignRequests: string[] = [];

    beforeAll(async () => {
      harness = await buildMarkdownHarness();
      site = await startStaticServer(harness.dir, { '/': `${harness.dir}/markdown-harness.html` });
      browser = await launchChromium();
      context = await browser.newContext();
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
      // Nothing may leave 127.0.0.1: what a reply would make the browser fetch is recorded and refused.
      await context.route(
        (url) => url.origin !== site.url,
        (route) => {
          foreignRequests.push(route.request().url());
          return route.abort();
        },
      );
      page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${site.url}/`);
      await page.waitForFunction('window.scenarios !== undefined');
    }, 30_000);
    afterAll(async () => {
      await browser?.close();
      await site?.close();
      harness?.remove();
    });

    function scenario<T>(name: string, ...args: unknown[]): Promise<T> {
      const list = args.map((arg) => JSON.stringify(arg)).join(', ');
      return page.evaluate(`window.scenarios.${name}(${list})`) as Promise<T>;
    }

    it('renders the same text streamed in any chunking as in one go', async () => {
      interface View {
        text: string;
        html: string;
      }
      const result = await scenario<{
        reference: View;
        streamed: Record<string, View & { sameText: boolean }>;
      }>('equivalence', SAMPLE, 7);
      expect(result.reference.text).toContain('print("never closed")');
      expect(result.reference.html).toContain('<code class="language-python">');
      expect(Object.keys(result.streamed)).toHaveLength(3);
      for (const [chunking, view] of Object.entries(result.streamed)) {
        expect(view.sameText, chunking).toBe(true);
        expect(view.text, chunking).toBe(result.reference.text);
        expect(view.html, chunking).toBe(result.reference.html);
      }
      expect(pageErrors).toEqual([]);
    });

    it('shows an open fence as growing plain text, and never touches a frozen block again', async () => {
      const seen = await scenario<Record<string, unknown>>('openFence');
      expect(seen).toEqual({
        listBeforeFence: 'a list',
        openCode: '  const a = 1;\n',
        sameTextNode: true,
        grownCode: '  const a = 1;\n  const b = "<b>not bold</b>";',
        copyButtonInOpenFence: true,
        closedInList: 'const a = 1;\nconst b = "<b>not bold</b>";\n',
        tailFenceAfterClose: 'unclosed',
        finishedTail: false,
        lastCode: ['const a = 1;\nconst b = "<b>not bold</b>";\n', 'unclosed\n'],
        blocks: ['md-block', 'md-block', 'md-block', 'md-block'],
        frozenUntouched: true,
      });
    });

    it('runs nothing and loads nothing from a hostile reply', async () => {
      const result = await scenario<{
        tags: string[];
        eventAttributes: string[];
        hrefs: string[];
        links: Array<{ target: string; rel: string }>;
        text: string;
      }>('hostile', HOSTILE);
      const allowed = ['a', 'button', 'code', 'div', 'p', 'pre'];
      expect(result.tags.filter((tag) => !allowed.includes(tag))).toEqual([]);
      expect(result.eventAttributes).toEqual([]);
      expect(result.hrefs.sort()).toEqual(['https://example.com', 'https://img.example/tracker.png']);
      for (const link of result.links) expect(link).toEqual({ target: '_blank', rel: 'noopener noreferrer' });
      expect(result.text).toContain('<img src=x onerror=alert(9)>');
      expect(result.text).toContain('<script>alert(11)</script>');
      // Give anything the page was tricked into a frame and a task to run before looking at the traps.
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))');
      expect(await scenario('trapped')).toEqual([]);
      expect(foreignRequests).toEqual([]);
      expect(pageErrors).toEqual([]);
    });

    it('copies a code block with its copy button', async () => {
      const code = 'echo "one"\n\necho two';
      await scenario('copyable', code);
      const button = page.locator('#copyable button.copy-code');
      await expect(button.getAttribute('aria-label')).resolves.toBe('Copy code');
      await button.click();
      const label = (text: string) =>
        `document.querySelector('#copyable .copy-code').textContent === '${text}'`;
      await page.waitForFunction(label('Copied'));
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(`${code}\n`);
      await page.waitForFunction(label('Copy'));
    });

    it('streams a 100 kB reply with no long task, at a per-frame cost that does not grow with it', async () => {
      const { text, paragraph, code } = longReply();
      expect(paragraph.length).toBeGreaterThanOrEqual(30_000);
      expect(code.length).toBeGreaterThan(40_000);
      expect(text.length).toBeGreaterThan(100_000);
      await scenario('warmUp', text);
      const stopTracing = await traceMainThreadTasks(page);
      const result = await scenario<{
        longTasks: number[];
        flushes: Array<[number, number]>;
        finishMs: number;
        streamMs: number;
      }>('stream', text, { tokenSize: 4, tokensPerBatch: 32, batchDelayMs: 2 });
      const taskMs = await stopTracing();
      const cpuLongTasks = taskMs.filter((ms) => ms > 50).map(Math.round);
      const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
      const during = (from: number, to: number) =>
        result.flushes.filter(([at]) => at > from && at <= to).map(([, ms]) => ms);
      const firstMixed = during(0, 14_000);
      const lastMixed = during(text.length - 14_000, text.length);
      const inParagraph = during(text.indexOf(paragraph), text.indexOf(paragraph) + paragraph.length);
      const inCode = during(text.indexOf(code), text.indexOf(code) + code.length);
      console.log(
        `100 kB stream: ${text.length} chars in ${Math.round(result.streamMs)} ms, ${result.flushes.length} flushes; ` +
          `long tasks ${JSON.stringify(result.longTasks)} (by CPU time ${JSON.stringify(cpuLongTasks)}); finish ${result.finishMs.toFixed(1)} ms; ` +
          `flush median first/last mixed ${median(firstMixed).toFixed(2)}/${median(lastMixed).toFixed(2)} ms, ` +
          `in the paragraph ${median(inParagraph).toFixed(2)} ms (max ${Math.max(...inParagraph).toFixed(1)}), ` +
          `in the code block ${median(inCode).toFixed(2)} ms (max ${Math.max(...inCode).toFixed(1)}); ` +
          `gzipped ${JSON.stringify(harness.gzipped)}`,
      );
      expect(await scenario('sameAsOneShot', text)).toBe(true);
      // By the CPU time of each task on the page's main thread: PerformanceObserver's long tasks (logged above)
      // count wall time, and on a loaded machine a short task the process was descheduled in looks long too.
      expect(cpuLongTasks).toEqual([]);
      expect(result.finishMs).toBeLessThan(50);
      expect(firstMixed.length).toBeGreaterThan(10);
      expect(lastMixed.length).toBeGreaterThan(10);
      // A renderer that parsed the whole reply again on each frame would cost over ten times as much at the end.
      expect(median(lastMixed)).toBeLessThan(2 * median(firstMixed) + 2);
      expect(median(inParagraph)).toBeLessThan(2 * median(firstMixed) + 5);
      expect(median(inCode)).toBeLessThan(2 * median(firstMixed) + 2);
    });

    it('adds little to the page: the renderer is a small part of its bundle', () => {
      const { markdown = Infinity, marked = Infinity, dompurify = Infinity } = harness.gzipped;
      expect(markdown).toBeLessThan(5_000);
      expect(markdown + marked + dompurify).toBeLessThan(35_000);
    });
  },
);
