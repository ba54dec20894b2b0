/** The small page a browser-facing route answers with when it has no page to redirect to (callback results). */
import type { HttpResponseInit } from '@azure/functions';
import { htmlResponse } from './page-response';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/**
 * `data` becomes `data-*` attributes of `<main id="result">`, for scripts and tests that read the outcome.
 * The stylesheet (and `script`, one of the page assets) are addressed relative to /api/callback/{provider}.
 */
export function htmlPage(status: number, title: string, paragraphs: string[], data: Record<string, string> = {}, script?: string): HttpResponseInit {
  const attributes = Object.entries(data)
    .map(([name, value]) => ` data-${name}="${escapeHtml(value)}"`)
    .join('');
  return htmlResponse(status, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../pages.css">${script ? `
<script src="../${escapeHtml(script)}" defer></script>` : ''}
</head><body><main id="result"${attributes}><h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
</main></body></html>`);
}
