/**
 * Messages for an IPC channel, sent as one array per event-loop turn. Every `process.send` is a
 * write system call on each side's channel (and a parse on the other), which under load cost the
 * host and its workers more than the messages' contents; the Functions host likewise multiplexes
 * every message to a worker over one gRPC stream rather than a call per message. Order is kept; a
 * batch reaching `BATCH_MAX_ITEMS` messages or `BATCH_MAX_BYTES` of payload is sent at once rather
 * than at the end of the turn, so one write never carries an unbounded amount.
 * @see https://github.com/Azure/azure-functions-host/blob/dev/src/WebJobs.Script.Grpc/Channel/GrpcWorkerChannel.cs
 */

/** Messages (or log lines merged into one) after which a batch is sent without waiting for the turn to end. */
export const BATCH_MAX_ITEMS = 128;
/** Payload (bodies, strings, log text: what `weigh` counts) after which a batch is sent at once. */
export const BATCH_MAX_BYTES = 1024 * 1024;

export class MessageBatch<T> {
  private queue: T[] = [];
  private items = 0;
  private bytes = 0;
  private scheduled = false;

  constructor(
    /** Sends one batch; throws (nothing sent) when the channel cannot carry it. */
    private readonly sendArray: (batch: T[]) => void,
    /** A message that cannot cross alone (sent by itself after its batch failed). */
    private readonly unsendable: (message: T, err: unknown) => void,
    /** The payload bytes a message carries, roughly (its large strings and byte arrays). */
    private readonly weigh: (message: T) => number,
  ) {}

  /** Queues `message`, or counts one more item in the last queued message when `merge` took it there (answers true). */
  push(message: T, merge?: (last: T) => boolean): void {
    const last = this.queue[this.queue.length - 1];
    if (!(merge && last !== undefined && merge(last))) this.queue.push(message);
    this.bytes += this.weigh(message);
    if (++this.items >= BATCH_MAX_ITEMS || this.bytes >= BATCH_MAX_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends what is queued now (the channel is about to close, or the turn has ended). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.items = 0;
    this.bytes = 0;
    try {
      this.sendArray(batch);
    } catch {
      // One message the serializer refuses (a function in a result) must not take its neighbours with it.
      for (const message of batch) {
        try {
          this.sendArray([message]);
        } catch (err) {
          this.unsendable(message, err);
        }
      }
    }
  };
}
