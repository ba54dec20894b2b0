/**
 * Task hub partitions: every instance belongs to one of `partitionCount` partitions by a hash of its
 * id, as in the Durable Task Azure Storage backend (one control queue per partition), and a host
 * runs an instance only while it holds that partition's lease.
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs (GetControlQueue)
 */

/** FNV-1a over the id's UTF-8 bytes, the hash the backend uses to pick a control queue. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function partitionOf(instanceId: string, partitionCount: number): number {
  return fnv1a(instanceId) % partitionCount;
}

/** Row key of a partition's lease and suffix of its queue partition: `p00`, `p01`, … */
export function partitionName(partition: number): string {
  return `p${partition.toString().padStart(2, '0')}`;
}
