/** One-line host logs, Core Tools style: `[time] message`. */
export type LogWriter = (line: string) => void;

export interface HostLogger {
  info(message: string): void;
  error(message: string): void;
}

/** A logger writing whole lines through `write` (stdout by default). */
export function createLogger(write: LogWriter = (line) => process.stdout.write(line + '\n')): HostLogger {
  const stamp = () => new Date().toISOString();
  return {
    info: (message) => write(`[${stamp()}] ${message}`),
    error: (message) => write(`[${stamp()}] ERROR ${message}`),
  };
}
