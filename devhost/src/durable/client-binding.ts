/**
 * Binding data for `durableClient` inputs, as the Durable extension's BindingHelper builds it, with
 * `rpcBaseUrl` pointing at this host so the SDK's DurableClient calls come back here.
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/Bindings/BindingHelper.cs
 */
export const WEBHOOK_PATH = '/runtime/webhooks/durabletask';
export const RPC_PATH = '/durabletask';

/** Management URLs for one instance (or the `INSTANCEID` template) under a public origin. */
export function managementUrls(origin: string, hubName: string, instanceId = 'INSTANCEID'): Record<string, string> {
  const prefix = `${origin}${WEBHOOK_PATH}/instances/${encodeURIComponent(instanceId)}`;
  const qs = `taskHub=${encodeURIComponent(hubName)}&connection=Storage`;
  return {
    id: instanceId,
    statusQueryGetUri: `${prefix}?${qs}`,
    sendEventPostUri: `${prefix}/raiseEvent/{eventName}?${qs}`,
    terminatePostUri: `${prefix}/terminate?reason={text}&${qs}`,
    rewindPostUri: `${prefix}/rewind?reason={text}&${qs}`,
    purgeHistoryDeleteUri: `${prefix}?${qs}`,
    restartPostUri: `${prefix}/restart?${qs}`,
    suspendPostUri: `${prefix}/suspend?reason={text}&${qs}`,
    resumePostUri: `${prefix}/resume?reason={text}&${qs}`,
  };
}

/** The JSON a `durableClient` binding receives. */
export function clientBindingData(publicOrigin: string, rpcOrigin: string, hubName: string): Record<string, unknown> {
  const base = `${publicOrigin}${WEBHOOK_PATH}`;
  const qs = `taskHub=${encodeURIComponent(hubName)}&connection=Storage`;
  return {
    taskHubName: hubName,
    connectionName: 'Storage',
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${qs}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${qs}`,
    },
    managementUrls: managementUrls(publicOrigin, hubName),
    baseUrl: base,
    requiredQueryStringParameters: '',
    rpcBaseUrl: `${rpcOrigin}${RPC_PATH}/`,
  };
}
