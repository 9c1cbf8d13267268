import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `cw_` and 32 base64url characters: 192 random bits. */
const KEY_PATTERN = /^cw_[A-Za-z0-9_-]{32}$/;
/** `cw_` and the first 8 random characters: enough to find a key and to tell keys apart in a listing. */
const PREFIX_LENGTH = 11;

export function generateApiKey(): string {
  return `cw_${randomBytes(24).toString('base64url')}`;
}

export function keyPrefix(key: string): string {
  return key.slice(0, PREFIX_LENGTH);
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** Compares a presented key with a stored hash in time that does not depend on where they differ. */
export function keyMatches(presented: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(presented).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
