/**
 * Metrics around one refresh activity run: counted by outcome, failures by code, and lateness (how
 * long after the row's latest due time, `refreshDueAt`, the refresh ran; 0 when on time or forced
 * early). Reads the row first only when telemetry is on.
 */
import type { RefreshResult } from '../durable/contract';
import { Metrics } from '../telemetry/port';
import type { Runtime } from './runtime';

export async function observedRefresh(runtime: Runtime, input: { clientId: string; connectionId: string }, refresh: () => Promise<RefreshResult>): Promise<RefreshResult> {
  const { telemetry } = runtime;
  if (!telemetry.enabled) return refresh();
  const before = await runtime.connections.get(input.clientId, input.connectionId);
  const provider = before?.connection.provider ?? 'unknown';
  const dueAt = before?.connection.refreshDueAt;
  if (dueAt !== undefined) {
    const lateSeconds = Math.max(0, (runtime.clock.now().getTime() - Date.parse(dueAt)) / 1000);
    telemetry.record(Metrics.refreshLateness, lateSeconds, { 'broker.provider': provider });
  }
  let result: RefreshResult;
  try {
    result = await refresh();
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'INTERNAL';
    telemetry.count(Metrics.refreshes, 1, { 'broker.provider': provider, 'broker.outcome': 'error' });
    telemetry.count(Metrics.refreshFailures, 1, { 'broker.provider': provider, 'broker.error.code': code });
    throw error;
  }
  telemetry.count(Metrics.refreshes, 1, { 'broker.provider': provider, 'broker.outcome': result.outcome });
  if (result.outcome === 'transient' || result.outcome === 'reauth_required' || result.outcome === 'failed') {
    telemetry.count(Metrics.refreshFailures, 1, { 'broker.provider': provider, 'broker.error.code': result.errorCode ?? result.outcome });
  }
  return result;
}
