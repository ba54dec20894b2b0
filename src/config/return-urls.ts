/**
 * True when `candidate`, parsed by the WHATWG URL parser, has the origin of an allow-list entry
 * and a path starting with that entry's path (the public contract's rule; end entries with "/" to
 * allow a whole folder and nothing beside it). URLs carrying credentials are refused.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.11 (open redirectors)
 */
export function isReturnUrlAllowed(candidate: string, allowList: readonly (string | URL)[]): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return false;
  return allowList.some((entry) => {
    const allowed = typeof entry === 'string' ? new URL(entry) : entry;
    return allowed.origin === url.origin && url.pathname.startsWith(allowed.pathname);
  });
}
