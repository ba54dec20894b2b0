/**
 * Reads of one key asked for at the same time share one storage request, without any caller getting
 * an answer older than its own call: a caller joins only a read that has not begun yet. While a read
 * of a key is in flight, the callers that arrive wait for it to end and then share the next one, so a
 * burst of N reads of one row costs two requests, not N, and each caller still sees every write that
 * ended before it asked. Nothing is kept once a key's reads end, so the map's size is bounded by the
 * keys being read at this moment.
 */
interface Slot<T> {
  /** The read in flight: it began before the callers waiting in `next`. */
  current: Promise<T>;
  /** The read to begin once `current` ends, shared by every caller that arrived meanwhile. */
  next?: Promise<T>;
}

export class SharedReads<T> {
  private readonly slots = new Map<string, Slot<T>>();

  /** `load`'s answer from a call begun at or after this one; callers must not change what they get. */
  read(key: string, load: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(key);
    if (!slot) return this.begin(key, load);
    slot.next ??= slot.current.then(ignore, ignore).then(() => this.begin(key, load));
    return slot.next;
  }

  /** Keys with a read in flight (for tests of the bound). */
  get size(): number {
    return this.slots.size;
  }

  private begin(key: string, load: () => Promise<T>): Promise<T> {
    const slot: Slot<T> = { current: load() };
    this.slots.set(key, slot);
    // Only this slot's own `next` replaces it in the map; with callers waiting, their read takes the key.
    const end = () => {
      if (!slot.next) this.slots.delete(key);
    };
    slot.current.then(end, end);
    return slot.current;
  }
}

function ignore(): void {}
