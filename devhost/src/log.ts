/** One-line host logs, Core Tools style: `[time] message`. */
export type LogWriter = (line: string) => void;

export interface HostLogger {
  info(message: string): void;
  error(message: string): void;
}

/** Above this many buffered characters the buffer is written at once rather than at the end of the turn. */
const FLUSH_AT_CHARS = 64 * 1024;

/**
 * Writes lines to stdout in one write per event-loop turn. A write to a pipe is a synchronous system
 * call on Linux, and one per invocation cost the host a tenth of its HTTP throughput; lines still left
 * when the process exits are written by an `exit` listener.
 */
export function bufferedStdout(): LogWriter {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    pending += line + '\n';
    if (pending.length >= FLUSH_AT_CHARS) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/** A logger writing whole lines through `write` (buffered stdout by default). */
export function createLogger(write: LogWriter = bufferedStdout()): HostLogger {
  let stampMs = -1;
  let stampText = '';
  // Many lines share a millisecond under load; format the time once per millisecond.
  const stamp = () => {
    const now = Date.now();
    if (now !== stampMs) {
      stampMs = now;
      stampText = new Date(now).toISOString();
    }
    return stampText;
  };
  return {
    info: (message) => write(`[${stamp()}] ${message}`),
    error: (message) => write(`[${stamp()}] ERROR ${message}`),
  };
}
