/** What storage needs from encryption: seal a JSON value bound to an id (AAD), and open it again. */
export interface Sealer {
  /** AES-256-GCM envelope of `JSON.stringify(value)` with `aad` bound; records the key id. */
  seal(value: unknown, aad: string): Promise<{ envelope: string; keyId: string }>;
  open<T>(envelope: string, aad: string): Promise<T>;
}
