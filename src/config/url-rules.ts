/**
 * URL rules shared by settings and provider definitions. Plain `http:` is accepted only for
 * loopback hosts, so local test providers (http://127.0.0.1:port) work while every remote
 * endpoint must use TLS (RFC 9700 §2.6, RFC 6749 §3.1). There is deliberately no opt-out.
 */
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`. */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return LOOPBACK_HOSTNAMES.has(host) || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Parses `value` as an absolute URL, or returns undefined. */
export function parseAbsoluteUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Why `value` is not an acceptable endpoint URL (absolute https, or http on a loopback host,
 * without credentials or fragment), or undefined when it is.
 */
export function endpointUrlProblem(value: string): string | undefined {
  const url = parseAbsoluteUrl(value);
  if (!url) return 'must be an absolute URL';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    return 'must use https (http is accepted only for loopback hosts)';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash) return 'must not contain a fragment';
  return undefined;
}
