/**
 * A stub `context.df` that records what an orchestrator asks for and returns marker tasks. The test
 * drives the generator: `gen.next(result)` for an activity, `gen.next(winner)` for `Task.any`
 * (after setting the winner's `result`), `gen.throw(error)` for a failed activity.
 */
import type * as df from 'durable-functions';

export interface MarkerTask {
  kind: 'activity' | 'activityWithRetry' | 'event' | 'timer' | 'any';
  name?: string;
  input?: unknown;
  retryOptions?: df.RetryOptions;
  fireAt?: Date;
  tasks?: MarkerTask[];
  cancel: jest.Mock;
  isCompleted: boolean;
  result?: unknown;
}

export interface FakeContext {
  context: df.OrchestrationContext;
  customStatuses: unknown[];
  continuedAsNew: unknown[];
  guidNames: string[];
  /** Every task the orchestrator created, in order. */
  created: MarkerTask[];
}

export interface FakeOptions {
  input: unknown;
  now: Date;
  /** Guid to return for a given newGuid name (default: all zeros). */
  guid?: (name: string) => string;
}

export function fakeContext(options: FakeOptions): FakeContext {
  const customStatuses: unknown[] = [];
  const continuedAsNew: unknown[] = [];
  const guidNames: string[] = [];
  const created: MarkerTask[] = [];
  const task = (fields: Omit<MarkerTask, 'cancel' | 'isCompleted'>): MarkerTask => {
    const marker: MarkerTask = { ...fields, cancel: jest.fn(), isCompleted: false };
    created.push(marker);
    return marker;
  };
  const dfContext = {
    getInput: () => options.input,
    currentUtcDateTime: options.now,
    isReplaying: false,
    instanceId: 'instance',
    setCustomStatus: (status: unknown) => customStatuses.push(status),
    continueAsNew: (input: unknown) => continuedAsNew.push(input),
    newGuid: (name: string) => {
      guidNames.push(name);
      return options.guid ? options.guid(name) : '00000000-0000-0000-0000-000000000000';
    },
    callActivity: (name: string, input?: unknown) => task({ kind: 'activity', name, input }),
    callActivityWithRetry: (name: string, retryOptions: df.RetryOptions, input?: unknown) =>
      task({ kind: 'activityWithRetry', name, retryOptions, input }),
    waitForExternalEvent: (name: string) => task({ kind: 'event', name }),
    createTimer: (fireAt: Date) => task({ kind: 'timer', fireAt }),
    Task: {
      any: (tasks: MarkerTask[]) => task({ kind: 'any', tasks }),
      all: () => {
        throw new Error('Task.all is not expected');
      },
    },
  };
  return { context: { df: dfContext } as unknown as df.OrchestrationContext, customStatuses, continuedAsNew, guidNames, created };
}

/** Marks `winner` as the completed task of a `Task.any` and gives it the event payload. */
export function win(winner: MarkerTask, result?: unknown): MarkerTask {
  winner.isCompleted = true;
  winner.result = result;
  return winner;
}

export function asTask(value: unknown): MarkerTask {
  return value as MarkerTask;
}
