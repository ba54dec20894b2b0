/**
 * The messages between the host and a worker process over the IPC channel (`serialization:
 * 'advanced'`, so the bytes in RPC typed data arrive as bytes). They stand in for the Functions
 * host's gRPC messages to a language worker: WorkerInitResponse with FunctionMetadataResponse
 * (`ready`), InvocationRequest/InvocationResponse, RpcLog (`log`), WorkerTerminate.
 * @see https://github.com/Azure/azure-functions-language-worker-protobuf/blob/dev/src/proto/FunctionRpc.proto
 */
import { format } from 'node:util';
import type { FunctionMetadata, RpcInvocationResponse, RpcTypedData } from '../core-api';
import type { InvocationInput } from '../invoker';

/** A thrown value as it crosses: an Error's name, message and stack, or anything else as text. */
export interface ThrownValue {
  name?: string;
  message: string;
  stack?: string;
  isError: boolean;
}

export type HostToWorker =
  | { type: 'invoke'; id: number; functionName: string; inputs: InvocationInput[]; triggerMetadata?: Record<string, RpcTypedData>; invocationId: string }
  | { type: 'terminate' };

export type WorkerToHost =
  | { type: 'ready'; functions: FunctionMetadata[]; httpUri?: string }
  | { type: 'failed'; message: string }
  | { type: 'log'; lines: LogLine[] }
  | { type: 'result'; id: number; response: RpcInvocationResponse; httpResponseProduced: boolean }
  | { type: 'error'; id: number; error: ThrownValue }
  | { type: 'terminated'; error?: string };

/** `e` for an error line, `i` for the rest, as the host logger writes them. */
export type LogLine = [level: 'i' | 'e', message: string];

/** Roughly the bytes a message carries: its bodies, JSON and strings (what makes one large). */
export function payloadBytes(message: HostToWorker | WorkerToHost): number {
  switch (message.type) {
    case 'invoke': {
      let n = 0;
      for (const input of message.inputs) n += typedDataBytes(input.data);
      return n;
    }
    case 'result':
      return typedDataBytes(message.response.returnValue) + (message.response.outputData ?? []).reduce((n, o) => n + typedDataBytes(o.data), 0);
    case 'log':
      return message.lines.reduce((n, [, text]) => n + text.length, 0);
    case 'error':
      return message.error.message.length + (message.error.stack?.length ?? 0);
    default:
      return 0;
  }
}

function typedDataBytes(data: RpcTypedData | null | undefined): number {
  if (!data) return 0;
  if (data.bytes) return data.bytes.byteLength;
  if (typeof data.string === 'string') return data.string.length;
  if (typeof data.json === 'string') return data.json.length;
  if (data.http) return typedDataBytes(data.http.body as RpcTypedData | null | undefined);
  return 0;
}

export function toThrownValue(err: unknown): ThrownValue {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack, isError: true };
  return { message: typeof err === 'string' ? err : format('%o', err), isError: false };
}

/** An Error again (name, message and stack are what failure details and the replay protocol read), or the text thrown. */
export function fromThrownValue(t: ThrownValue): unknown {
  if (!t.isError) return t.message;
  const err = new Error(t.message);
  if (t.name) err.name = t.name;
  err.stack = t.stack;
  return err;
}
