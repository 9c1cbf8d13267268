import { describe, expect, it } from 'vitest';
import { markdownToHtml } from './markdown-html';
import { safeHref } from './safe-href';

const LINK_ATTRIBUTES = 'target="_blank" rel="noopener noreferrer"';

describe('markdownToHtml', () => {
  it.each([
    ['[x](javascript:alert(1))'],
    ['[x](JaVaScRiPt:alert(1))'],
    ['[x](<java\tscript:alert(1)>)'],
    ['[x](&#106;avascript:alert(1))'],
    ['[x](&#x6A;avascript:alert(1))'],
    ['[x](javascript&colon;alert(1))'],
    ['[x](  javascript:alert(1))'],
    ['[x](vbscript:msgbox(1))'],
    ['[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['[x](/relative/path)'],
    ['[x][r]\n[r]: javascript:alert(1)'],
  ])('shows a link to %j as its text', (markdown) => {
    const html = markdownToHtml(markdown);
    expect(html).not.toContain('<a');
    expect(html).toContain('x');
  });

  it('leaves no autolink to a javascript: URL', () => {
    expect(markdownToHtml('<javascript:alert(1)>')).not.toContain('<a');
  });

  it('opens http, https, mailto and same-page links in a new tab', () => {
    const html = markdownToHtml(
      '[a](https://a.example/?q=1&r=2 "T") [b](http://b.example) [c](mailto:c@d.example) [d](#part)',
    );
    expect(html).toContain(`<a href="https://a.example/?q=1&amp;r=2" title="T" ${LINK_ATTRIBUTES}>a</a>`);
    expect(html).toContain(`<a href="http://b.example" ${LINK_ATTRIBUTES}>b</a>`);
    expect(html).toContain(`<a href="mailto:c@d.example" ${LINK_ATTRIBUTES}>c</a>`);
    expect(html).toContain(`<a href="#part" ${LINK_ATTRIBUTES}>d</a>`);
  });

  it('renders an image as a link to it, never as an image', () => {
    expect(markdownToHtml('![a cat](https://img.example/cat.png)')).toBe(
      `<p><a href="https://img.example/cat.png" ${LINK_ATTRIBUTES}>a cat</a></p>\n`,
    );
    expect(markdownToHtml('![](https://img.example/cat.png)')).toContain('>https://img.example/cat.png</a>');
    expect(markdownToHtml('![a cat](javascript:alert(1))')).toBe('<p>a cat</p>\n');
    const nested = markdownToHtml('[![a cat](https://img.example/cat.png)](https://cats.example)');
    expect(nested).toBe(`<p><a href="https://cats.example" ${LINK_ATTRIBUTES}>a cat</a></p>\n`);
    expect(
      markdownToHtml('![x](https://img.example/1.png)\n\n<img src="https://img.example/2.png">'),
    ).not.toContain('<img');
  });

  it('shows raw HTML as text', () => {
    expect(markdownToHtml('<img src=x onerror=alert(1)>')).toBe(
      '<p>&lt;img src=x onerror=alert(1)&gt;</p>\n',
    );
    expect(markdownToHtml('a <b onclick="x()">bold</b> <script>alert(1)</script>')).toBe(
      '<p>a &lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>\n',
    );
    expect(markdownToHtml('<div>\n*hi*\n</div>')).toBe('<p>&lt;div&gt;\n*hi*\n&lt;/div&gt;</p>\n');
  });

  it('renders code blocks with their language, escaped', () => {
    expect(markdownToHtml('```js\nif (a < b) x();\n```')).toBe(
      '<pre><code class="language-js">if (a &lt; b) x();\n</code></pre>\n',
    );
  });
});

describe('safeHref', () => {
  it('lets through http, https, mailto and #fragments, encoded as marked does', () => {
    expect(safeHref('https://a.example/a b?c=%20')).toBe('https://a.example/a%20b?c=%20');
    expect(safeHref('HTTP://a.example')).toBe('HTTP://a.example');
    expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example');
    expect(safeHref('#section-2')).toBe('#section-2');
    expect(safeHref('https://a.example/?a=1&amp;b=2')).toBe('https://a.example/?a=1&b=2');
  });

  it.each([
    'javascript:alert(1)',
    ' javascript:alert(1)',
    'java\nscript:alert(1)',
    '\u0001javascript:alert(1)',
    'jav&#x09;ascript:alert(1)',
    'javascript&colon;alert(1)',
    '&#0000106avascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:x',
    'file:///etc/passwd',
    '//evil.example/x',
    'relative/path',
    '',
  ])('refuses %j', (href) => {
    expect(safeHref(href)).toBeNull();
  });
});
