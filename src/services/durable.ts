/** The subset of the durable client the services use (durable-functions' DurableClient satisfies it). */
export interface OrchestrationStatusLike {
  runtimeStatus: string;
  customStatus?: unknown;
}

export interface DurableClientLike {
  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string>;
  raiseEvent(instanceId: string, eventName: string, eventData: unknown): Promise<void>;
  getStatus(instanceId: string, options?: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean }): Promise<OrchestrationStatusLike>;
  terminate(instanceId: string, reason: string): Promise<void>;
  purgeInstanceHistory(instanceId: string): Promise<{ instancesDeleted: number }>;
}

const RUNNING = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

export function isRunning(runtimeStatus: string | undefined): boolean {
  return runtimeStatus !== undefined && RUNNING.has(runtimeStatus);
}

/** getStatus throws for an unknown instance; this answers undefined instead. */
export async function tryGetStatus(client: DurableClientLike, instanceId: string): Promise<OrchestrationStatusLike | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch {
    return undefined;
  }
}
