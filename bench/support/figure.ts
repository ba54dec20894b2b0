/** One reported figure: what was measured, its baseline from the same run, the ratio and the aim. */
export interface Figure {
  id: string;
  title: string;
  measured: Record<string, unknown>;
  /** Null where the figure is absolute by nature (counts, lateness against the schedule itself). */
  baseline: Record<string, unknown> | null;
  /** measured ÷ baseline on the judged quantity, or null. */
  ratio: number | null;
  /** What the ratio divides, e.g. "broker p50 ÷ direct p50". */
  ratioOf: string;
  aim: string;
  /** null when there is no aim to judge against (informational figure). */
  met: boolean | null;
  reason: string;
}

export interface BenchContext {
  quick: boolean;
  log(message: string): void;
}
