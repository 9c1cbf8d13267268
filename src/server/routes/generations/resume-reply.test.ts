import { describe, expect, it } from 'vitest';
import { disconnectPolicy } from '../../../generations/disconnect-policy.js';
import { resumePoint } from './resume-reply.js';

describe('resumePoint', () => {
  it('takes ?after, else the number in Last-Event-ID, else the start', () => {
    expect(resumePoint('gen_a', { after: '12' }, 'gen_a-3')).toBe(12);
    expect(resumePoint('gen_a', {}, 'gen_a-3')).toBe(3);
    expect(resumePoint('gen_a', {}, undefined)).toBe(0);
  });

  it('is a 400 naming the field for anything else', () => {
    for (const after of ['-1', '1.5', 'x', '']) {
      expect(() => resumePoint('gen_a', { after }, undefined)).toThrow(/^after must be a frame count/);
    }
    for (const id of ['gen_b-3', 'gen_a-', '7', 'gen_a-x']) {
      expect(() => resumePoint('gen_a', {}, id)).toThrow(/^Last-Event-ID must be 'gen_a-<frame number>'/);
    }
  });
});

describe('disconnectPolicy', () => {
  it("is the header's abort or detach, in any case, else the route's default", () => {
    expect(disconnectPolicy({ 'chatwire-on-disconnect': 'Detach' }, 'abort')).toBe('detach');
    expect(disconnectPolicy({}, 'detach')).toBe('detach');
    expect(() => disconnectPolicy({ 'chatwire-on-disconnect': 'stay' }, 'abort')).toThrow(
      `header chatwire-on-disconnect must be 'abort' or 'detach', not "stay"`,
    );
  });
});
