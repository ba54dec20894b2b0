import { SharedReads } from '../../../src/storage/shared-reads';

/** A storage read the test ends when it chooses, answering the row's state at the moment it began. */
function fakeStore() {
  let state = 'v1';
  const begun: Array<{ sawState: string; end: () => void; fail: (error: Error) => void }> = [];
  const load = () =>
    new Promise<string>((resolve, reject) => {
      const sawState = state;
      begun.push({ sawState, end: () => resolve(sawState), fail: reject });
    });
  return {
    begun,
    load,
    write: (next: string) => {
      state = next;
    },
  };
}

/** Lets every settled promise's callbacks run, so reads due to begin have begun. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('shared reads', () => {
  it('when calls for one key come while a read is in flight, then they share one read begun after all of them, which sees a write made before they asked', async () => {
    const store = fakeStore();
    const reads = new SharedReads<string>();
    const first = reads.read('row', store.load);
    store.write('v2'); // ended after the first read began, before the next calls asked
    const second = reads.read('row', store.load);
    const third = reads.read('row', store.load);
    await settle();
    expect(store.begun).toHaveLength(1);

    store.begun[0].end();
    await settle();
    expect(store.begun).toHaveLength(2);
    const fourth = reads.read('row', store.load); // asks after the second read began: it waits for a third

    store.begun[1].end();
    await settle();
    expect(store.begun).toHaveLength(3);
    store.begun[2].end();

    expect(await Promise.all([first, second, third, fourth])).toEqual(['v1', 'v2', 'v2', 'v2']);
    expect(store.begun).toHaveLength(3);
    expect(reads.size).toBe(0);
  });

  it('when a shared read fails, then each of its callers gets the failure and the next call reads again', async () => {
    const store = fakeStore();
    const reads = new SharedReads<string>();
    const first = reads.read('row', store.load);
    const second = reads.read('row', store.load);
    store.begun[0].end();
    await settle();
    store.begun[1].fail(new Error('storage down'));
    await expect(first).resolves.toBe('v1');
    await expect(second).rejects.toThrow('storage down');

    const third = reads.read('row', store.load);
    await settle();
    store.begun[2].end();
    await expect(third).resolves.toBe('v1');
    expect(reads.size).toBe(0);
  });

  it('when calls are for different keys, then each key has its own read', async () => {
    const store = fakeStore();
    const reads = new SharedReads<string>();
    const a = reads.read('a', store.load);
    const b = reads.read('b', store.load);
    expect(store.begun).toHaveLength(2);
    for (const read of store.begun) read.end();
    expect(await Promise.all([a, b])).toEqual(['v1', 'v1']);
  });
});
