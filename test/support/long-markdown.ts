/** About `bytes` of the Markdown a model writes: headings, paragraphs, lists, tables and code fences. */
export function longMarkdown(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const part = [
      `## Section ${i}`,
      `Paragraph ${i} explains *one* idea with **some** emphasis, \`inline code\` and a [link](https://example.com/${i}). `.repeat(
        3,
      ),
      `- item ${i}.1\n- item ${i}.2 with \`code\`\n  continued on a second line\n- item ${i}.3`,
      `| key | value |\n|---|---|\n| a${i} | ${i * 2} |\n| b${i} | ${i * 3} |`,
      `\`\`\`ts\nfunction f${i}(x: number) {\n  // a comment with <tags> & "quotes"\n\n  return x * ${i};\n}\n\`\`\``,
      `1. first\n2. second\n\n> quoted ${i}`,
    ].join('\n\n');
    parts.push(part);
    size += part.length + 2;
  }
  return parts.join('\n\n');
}

/** Splits text into tokens of about `size` characters, as a model's stream would. */
export function tokensOf(text: string, size = 4): string[] {
  const tokens: string[] = [];
  for (let at = 0; at < text.length; at += size) tokens.push(text.slice(at, at + size));
  return tokens;
}
