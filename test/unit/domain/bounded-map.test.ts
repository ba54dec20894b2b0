import { evictOldest, setNewest } from '../../../src/domain/bounded-map';

describe('bounded maps', () => {
  it('when a key is set again, then it becomes the newest and the oldest other key is the one forgotten', () => {
    const map = new Map<string, number>();
    setNewest(map, 'a', 1, 2);
    setNewest(map, 'b', 2, 2);
    setNewest(map, 'a', 3, 2);
    setNewest(map, 'c', 4, 2);
    expect([...map]).toEqual([['a', 3], ['c', 4]]);
  });

  it('when a map is over its bound, then the oldest entries go until it holds the bound', () => {
    const map = new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]);
    evictOldest(map, 1);
    expect([...map]).toEqual([['d', 4]]);
    evictOldest(map, 0);
    expect(map.size).toBe(0);
  });
});
