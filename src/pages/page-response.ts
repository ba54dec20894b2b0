/**
 * Responses for the broker's own browser pages. The pages carry no inline script or style, so the
 * Content-Security-Policy can allow only same-origin scripts, styles and fetches.
 */
import type { HttpResponseInit } from '@azure/functions';

/** No inline code, no third-party origins, no framing, forms and fetches only to the broker itself. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function htmlResponse(html: string): HttpResponseInit {
  return {
    status: 200,
    headers: { ...COMMON_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP },
    body: html,
  };
}

/** Scripts and styles are public and identical for everyone; a short cache keeps deployments fresh. */
export function assetResponse(contentType: 'text/javascript' | 'text/css', text: string): HttpResponseInit {
  return {
    status: 200,
    headers: { ...COMMON_HEADERS, 'content-type': `${contentType}; charset=utf-8`, 'cache-control': 'public, max-age=300' },
    body: text,
  };
}
