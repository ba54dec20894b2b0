/**
 * The out-of-process orchestration protocol spoken by durable-functions 3.x: history event shapes the
 * SDK reads, the orchestrator state it returns, and action flattening in sequence-id order.
 * @see https://github.com/Azure/azure-functions-durable-js/blob/v3.x/src/orchestrations/TaskOrchestrationExecutor.ts
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/Listener/OutOfProcOrchestrationShim.cs
 */

/** DTFx `EventType` numbers (durable-functions `HistoryEventType`). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const EVENT_TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(EventType).map(([k, v]) => [v, k]));

/** `ActionType` numbers (durable-functions `actions/ActionType`). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  ScheduledSignalEntity: 10,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

/** Replay schema sent as `upperSchemaVersionNew` (V3 = 2: cumulative actions, long timers). */
export const REPLAY_SCHEMA_V3 = 2;

/** A history event as the SDK reads it (type-specific fields added by the builders). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed?: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptions;
  instanceId?: string;
  version?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: OrchestratorAction[];
}

/** DTFx FailureDetails as carried on TaskFailed / SubOrchestrationInstanceFailed. */
export interface FailureDetailsPayload {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
  InnerFailure?: FailureDetailsPayload;
}

/** What an orchestrator invocation returns (or carries in its failure). */
export interface OrchestratorState {
  isDone: boolean;
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
  failureDetails?: FailureDetailsPayload;
}

/**
 * Actions in the order the SDK allocated sequence ids to them: the cumulative list (schema ≥ V2 sends
 * one inner array) flattened depth-first through WhenAny/WhenAll.
 */
export function flattenActions(actions: OrchestratorAction[][]): OrchestratorAction[] {
  const out: OrchestratorAction[] = [];
  const visit = (a: OrchestratorAction) => {
    if ((a.actionType === ActionType.WhenAny || a.actionType === ActionType.WhenAll) && a.compoundActions) {
      a.compoundActions.forEach(visit);
    } else out.push(a);
  };
  for (const group of actions ?? []) for (const a of group ?? []) visit(a);
  return out;
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

/** Splits an orchestrator failure (OrchestrationFailureError) into its message and state. */
export function parseOrchestratorFailure(err: unknown): { message: string; state?: OrchestratorState } {
  const text = err instanceof Error ? err.message : String(err);
  const at = text.indexOf(OUT_OF_PROC_LABEL);
  if (at < 0) return { message: text };
  try {
    return { message: text.slice(0, at), state: JSON.parse(text.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState };
  } catch {
    return { message: text.slice(0, at) };
  }
}

/**
 * Delay before retry after failed attempt `attempt` (1-based): first × backoff^(attempt−1), capped.
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.Core/RetryInterceptor.cs
 */
export function retryDelayMs(options: RetryOptions, attempt: number): number {
  const backoff = options.backoffCoefficient ?? 1;
  let delay = options.firstRetryIntervalInMilliseconds * Math.pow(backoff, attempt - 1);
  if (options.maxRetryIntervalInMilliseconds !== undefined && options.maxRetryIntervalInMilliseconds > 0) {
    delay = Math.min(delay, options.maxRetryIntervalInMilliseconds);
  }
  return Math.max(0, Math.round(delay));
}
