import { nestsDeeperThan } from '../../src/http/json-depth';

const bytes = (text: string) => new TextEncoder().encode(text);
const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('nestsDeeperThan', () => {
  it('counts arrays and objects alike, up to the limit and one past it', () => {
    expect(nestsDeeperThan(bytes(nested(32)), 32)).toBe(false);
    expect(nestsDeeperThan(bytes(nested(33)), 32)).toBe(true);
    expect(nestsDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
    expect(nestsDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: '[{'.repeat(100) })), 2)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: '\\"[[[[' })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify(['"', [[[]]]])), 3)).toBe(true);
  });

  it('reads 5,000 levels without recursion', () => {
    expect(nestsDeeperThan(bytes(nested(5000)), 32)).toBe(true);
  });
});
