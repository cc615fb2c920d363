import { createCursorCodec } from '../../src/services/cursor';

describe('cursors', () => {
  const codec = createCursorCodec(new TextEncoder().encode('k'.repeat(32)));
  const cursor = codec.encode('courses:title', ['Algebra', 'id-1']);
  const refusal = {
    status: 400,
    extra: { errors: [{ path: 'query.cursor', message: 'is not a valid cursor' }] },
  };

  it('round-trip the position they were made from', () => {
    expect(codec.decode('courses:title', cursor, ['string', 'string'] as const)).toEqual([
      'Algebra',
      'id-1',
    ]);
  });

  it('are refused when tampered with, forged, or from another listing', () => {
    const [data, signature] = cursor.split('.');
    const forged = Buffer.from(JSON.stringify(['courses:title', 'Zoology', 'id-9'])).toString(
      'base64url',
    );
    const other = createCursorCodec(new TextEncoder().encode('x'.repeat(32))).encode(
      'courses:title',
      ['A', 'b'],
    );
    for (const bad of [
      `${forged}.${signature}`,
      `${data}.${signature!.slice(1)}x`,
      `${data}`,
      `${cursor}.extra`,
      other,
      'not-a-cursor',
    ]) {
      expect(() => codec.decode('courses:title', bad, ['string', 'string'] as const)).toThrow(
        expect.objectContaining(refusal),
      );
    }
    expect(() => codec.decode('courses:-title', cursor, ['string', 'string'] as const)).toThrow(
      expect.objectContaining(refusal),
    );
    expect(() => codec.decode('courses:title', cursor, ['number', 'string'] as const)).toThrow(
      expect.objectContaining(refusal),
    );
  });

  it('page rows fetched with one extra, with a cursor only when there is more', () => {
    const rows = [1, 2, 3].map((n) => ({ n }));
    const more = codec.page('s', rows, 2, (r) => [r.n]);
    expect(more.items).toEqual([{ n: 1 }, { n: 2 }]);
    expect(codec.decode('s', more.nextCursor!, ['number'] as const)).toEqual([2]);
    expect(codec.page('s', rows, 3, (r) => [r.n])).toEqual({ items: rows, nextCursor: null });
  });
});
