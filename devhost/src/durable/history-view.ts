/**
 * `historyEvents` of the status API, shaped as the Durable extension shapes them: event types as
 * names, completions merged with their scheduling event, orchestrator episode markers removed.
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/ContextImplementations/DurableClient.cs
 */
import { EventType, EVENT_TYPE_NAMES, type HistoryEvent } from './protocol';

function parseJsonOr(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function formatHistory(events: HistoryEvent[], showHistoryOutput: boolean, showInput: boolean): Record<string, unknown>[] {
  const items = events.map((e) => ({ ...e }) as Record<string, unknown>);
  const scheduled = new Map<string, { index: number; name: unknown; time: unknown; input: unknown }>();
  const drop = new Set<number>();
  items.forEach((item, i) => {
    const type = Number(item.EventType);
    item.EventType = EVENT_TYPE_NAMES[type] ?? String(type);
    switch (type) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(`${type}_${String(item.EventId)}`, { index: i, name: item.Name, time: item.Timestamp, input: item.Input });
        delete item.Version;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed: {
        const isTask = type === EventType.TaskCompleted || type === EventType.TaskFailed;
        const key = `${isTask ? EventType.TaskScheduled : EventType.SubOrchestrationInstanceCreated}_${String(item.TaskScheduledId)}`;
        const from = scheduled.get(key);
        if (from) {
          item.ScheduledTime = from.time;
          item.FunctionName = from.name;
          if (showInput) item.Input = from.input;
          drop.add(from.index);
        }
        delete item.TaskScheduledId;
        const completed = type === EventType.TaskCompleted || type === EventType.SubOrchestrationInstanceCompleted;
        if (completed && !showHistoryOutput) delete item.Result;
        else if (completed) item.Result = parseJsonOr(item.Result);
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = item.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        break;
      case EventType.ExecutionCompleted:
        if (!showHistoryOutput) delete item.Result;
        else item.Result = parseJsonOr(item.Result);
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        drop.add(i);
        break;
    }
    if (!showInput) delete item.Input;
    delete item.EventId;
    delete item.IsPlayed;
  });
  return items.filter((_, i) => !drop.has(i));
}
