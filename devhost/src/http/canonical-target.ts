/**
 * The request target as App Service's front end forwards it. HTTP.sys hands IIS/ARR the "cooked"
 * URL: percent-escapes in the path decoded (`%2F` becomes a separator), `\` turned into `/`, `.` and
 * `..` segments resolved; ARR re-encodes what a path cannot hold but leaves `/` as it is. The target
 * as the client sent it travels in `X-WAWS-Unencoded-URL`. The query is passed through untouched.
 * @see https://learn.microsoft.com/archive/blogs/asiatech/how-to-keep-escape-characters-of-slash-in-url-when-using-iis-arr
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4 (remove_dot_segments)
 */

/** Characters a path segment holds as they are (RFC 3986 pchar without `%`) plus the separator. */
const PATH_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
/** A run of percent-escapes, decoded together so multi-byte UTF-8 sequences decode as one character. */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

function decodeRun(run: string): string {
  let text: string;
  try {
    text = decodeURIComponent(run);
  } catch {
    // Not UTF-8 (e.g. overlong `%c0%ae`): left as sent, so it can decode to nothing else.
    return run;
  }
  let out = '';
  for (const ch of text) out += ch === '\\' ? '/' : PATH_CHAR.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 0) out.pop();
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return `/${out.join('/')}`;
}

/** The canonical path and the query (with its `?`, or empty) of an origin-form request target. */
export function canonicalTarget(target: string): { path: string; search: string } {
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? '' : target.slice(q);
  if (!raw.startsWith('/')) {
    // Absolute-form (`http://host/p`) or `*`: the path part, canonicalised the same way.
    const url = new URL(target, 'http://localhost');
    return { path: canonicalPath(url.pathname), search: url.search };
  }
  return { path: canonicalPath(raw), search };
}

function canonicalPath(raw: string): string {
  return removeDotSegments(raw.replace(/\\/g, '/').replace(ESCAPES, decodeRun));
}
