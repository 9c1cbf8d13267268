// Ollama relays encoding/json's error text verbatim in its 400 responses, so gateways that pass upstream errors
// through are tested against the same wording.

class GoDecodeError extends Error {}

const CONTROL_QUOTES: Record<string, string> = {
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
  '\x07': '\\a',
};

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '\\') return "'\\\\'";
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f)
    return `'${CONTROL_QUOTES[c] ?? `\\x${code.toString(16).padStart(2, '0')}`}'`;
  return `'${c}'`;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

export type GoDecoded = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Decodes the first JSON value of `text` the way json.Decoder.Decode (gin's ShouldBindJSON) does: bytes after
 * that value are ignored, and syntax errors carry Go's scanner wording.
 */
export function goDecode(text: string): GoDecoded {
  let i = 0;
  const peek = (): string => {
    if (i >= text.length) throw new GoDecodeError('unexpected EOF');
    return String.fromCodePoint(text.codePointAt(i) ?? 0);
  };
  const fail = (context: string): never => {
    throw new GoDecodeError(`invalid character ${quoteChar(peek())} ${context}`);
  };
  const skipSpace = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i] ?? 'x')) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (peek() !== word[k]) fail(`in literal ${word} (expecting ${quoteChar(word[k] ?? '')})`);
    }
    i++;
  };
  const digits = () => {
    while (isDigit(text[i])) i++;
  };
  const number = () => {
    if (peek() === '-') {
      i++;
      if (!isDigit(peek())) fail('in numeric literal');
    }
    if (peek() === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      if (!isDigit(peek())) fail('after decimal point in numeric literal');
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (peek() === '+' || peek() === '-') i++;
      if (!isDigit(peek())) fail('in exponent of numeric literal');
      digits();
    }
  };
  const string = () => {
    i++;
    for (;;) {
      const c = peek();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        const escaped = peek();
        if (escaped === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!isHex(peek())) fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(escaped)) {
          fail('in string escape code');
        }
      } else if ((c.codePointAt(0) ?? 0) < 0x20) {
        fail('in string literal');
      }
      i += c.length;
    }
  };
  const object = () => {
    i++;
    skipSpace();
    if (peek() === '}') {
      i++;
      return;
    }
    for (;;) {
      if (peek() !== '"') fail('looking for beginning of object key string');
      string();
      skipSpace();
      if (peek() !== ':') fail('after object key');
      i++;
      value();
      skipSpace();
      const c = peek();
      if (c === '}') {
        i++;
        return;
      }
      if (c !== ',') fail('after object key:value pair');
      i++;
      skipSpace();
    }
  };
  const array = () => {
    i++;
    skipSpace();
    if (peek() === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      skipSpace();
      const c = peek();
      if (c === ']') {
        i++;
        return;
      }
      if (c !== ',') fail('after array element');
      i++;
    }
  };
  const value = (): void => {
    skipSpace();
    const c = peek();
    const word = ['true', 'false', 'null'].find((w) => w[0] === c);
    if (c === '{') object();
    else if (c === '[') array();
    else if (c === '"') string();
    else if (c === '-' || isDigit(c)) number();
    else if (word) literal(word);
    else fail('looking for beginning of value');
  };
  try {
    value();
  } catch (err) {
    if (err instanceof GoDecodeError) return { ok: false, error: err.message };
    throw err;
  }
  return { ok: true, value: JSON.parse(text.slice(0, i)) };
}

function goKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

const CHAT_FIELDS: Array<[key: string, goType: string, accepts: (v: unknown) => boolean]> = [
  ['model', 'string', (v) => typeof v === 'string'],
  ['messages', '[]api.Message', Array.isArray],
  ['stream', 'bool', (v) => typeof v === 'boolean'],
];

/** The UnmarshalTypeError Go reports for a syntactically valid chat body, for the fields the simulator reads. */
export function chatTypeError(body: unknown): string | undefined {
  if (body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) {
    return `json: cannot unmarshal ${goKind(body)} into Go value of type api.ChatRequest`;
  }
  for (const [key, goType, accepts] of CHAT_FIELDS) {
    const value = (body as Record<string, unknown>)[key];
    if (value !== undefined && value !== null && !accepts(value)) {
      return `json: cannot unmarshal ${goKind(value)} into Go struct field ChatRequest.${key} of type ${goType}`;
    }
  }
  return undefined;
}
