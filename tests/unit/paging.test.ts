import { createCursorCodec } from '../../src/services/cursor';
import { DEFAULT_PAGE_SIZE, fetchPage } from '../../src/services/paging';

describe('fetchPage', () => {
  const cursors = createCursorCodec(new TextEncoder().encode('k'.repeat(32)));
  const rows = Array.from({ length: 50 }, (_, n) => ({ n }));
  const listing = (cursor?: string, limit?: number) => {
    const asked: { after: unknown; limit: number }[] = [];
    const page = fetchPage(cursors, {
      scope: 's',
      request: { cursor, limit },
      kinds: ['number'] as const,
      fetch: async (after, n) => {
        asked.push({ after, limit: n });
        return rows.filter((row) => !after || row.n > after[0]).slice(0, n);
      },
      keyOf: (row) => [row.n],
    });
    return { page, asked };
  };

  it('takes the document’s default page size, and fetches one row more', async () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    const { page, asked } = listing();
    expect((await page).items).toHaveLength(20);
    expect(asked).toEqual([{ after: undefined, limit: 21 }]);
  });

  it('continues after the last row of the previous page, and ends without a cursor', async () => {
    const first = await listing(undefined, 30).page;
    const { page, asked } = listing(first.nextCursor!, 30);
    const second = await page;
    expect(asked[0]!.after).toEqual([29]);
    expect(second.items.map((row) => row.n)).toEqual(rows.slice(30).map((row) => row.n));
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a cursor from another listing before fetching anything', async () => {
    const { page, asked } = listing(cursors.encode('other', [1]));
    await expect(page).rejects.toMatchObject({ status: 400 });
    expect(asked).toHaveLength(0);
  });
});
