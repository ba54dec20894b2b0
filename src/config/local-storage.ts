import { isLoopbackHostname } from './url-rules';

/** The emulator's well-known account (Azurite and the storage emulator). */
const EMULATOR_ACCOUNT = 'devstoreaccount1';

/**
 * Local development storage: `UseDevelopmentStorage=true`, or the emulator account with every
 * endpoint on a loopback host. Any other account is treated as real, wherever it is served from.
 */
export function isLocalStorage(connectionString: string): boolean {
  if (/UseDevelopmentStorage=true/i.test(connectionString)) return true;
  const account = /(?:^|;)\s*AccountName=([^;]+)/i.exec(connectionString)?.[1]?.trim();
  if (account !== EMULATOR_ACCOUNT) return false;
  const endpoints = [...connectionString.matchAll(/(?:Blob|Queue|Table)Endpoint=([^;]+)/gi)].map((m) => m[1]);
  if (endpoints.length === 0) return false;
  return endpoints.every((endpoint) => {
    try {
      return isLoopbackHostname(new URL(endpoint).hostname);
    } catch {
      return false;
    }
  });
}
