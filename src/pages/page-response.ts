/**
 * The one way the broker answers with a browser page or one of its assets. Pages carry no inline
 * script or style, so the Content-Security-Policy allows only same-origin scripts, styles and fetches;
 * every page gets the same security headers.
 */
import type { HttpResponseInit } from '@azure/functions';

/** No inline code, no third-party origins, no framing, forms and fetches only to the broker itself. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Pages are never cached: a callback URL carries an authorization code, the pages handle client and
 * operator keys, and a page must not be framed (X-Frame-Options for browsers without frame-ancestors).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...COMMON_HEADERS,
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': PAGE_CSP,
  'x-frame-options': 'DENY',
};

export function htmlResponse(status: number, html: string): HttpResponseInit {
  return { status, headers: { ...PAGE_HEADERS }, body: html };
}

export type AssetContentType = 'text/javascript' | 'text/css';

/** Scripts and styles are public and identical for everyone; a short cache keeps deployments fresh. */
export function assetResponse(contentType: AssetContentType, text: string): HttpResponseInit {
  return {
    status: 200,
    headers: { ...COMMON_HEADERS, 'content-type': `${contentType}; charset=utf-8`, 'cache-control': 'public, max-age=300' },
    body: text,
  };
}
