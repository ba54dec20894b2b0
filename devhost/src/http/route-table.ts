/**
 * HTTP trigger route templates as the Functions host (ASP.NET routing) reads them: literal segments
 * (case-insensitive), `{p}`, `{p?}`, `{*p}` / `{**p}`, and constraints after `:` (only `int`, `long`,
 * `bool`, `guid`, `alpha` are checked; others are accepted and ignored).
 */
type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string; optional: boolean; constraint?: (v: string) => boolean; catchAll: boolean };

export interface RouteMatch<T> {
  target: T;
  params: Record<string, string>;
}

interface Route<T> {
  segments: Segment[];
  methods?: Set<string>;
  target: T;
  rank: number[];
}

const CONSTRAINTS: Record<string, (v: string) => boolean> = {
  int: (v) => /^-?\d+$/.test(v),
  long: (v) => /^-?\d+$/.test(v),
  bool: (v) => /^(true|false)$/i.test(v),
  guid: (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v),
  alpha: (v) => /^[a-z]+$/i.test(v),
};

function parseSegment(raw: string, template: string): Segment {
  const m = /^\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)(?::([^?}]+))?(\?)?\}$/.exec(raw);
  if (!m) {
    if (raw.includes('{') || raw.includes('}')) throw new Error(`Unsupported route segment "${raw}" in "${template}"`);
    return { kind: 'literal', text: raw.toLowerCase() };
  }
  const [, star, name, constraint, optional] = m;
  const check = constraint ? CONSTRAINTS[constraint.split('(')[0].toLowerCase()] : undefined;
  return { kind: 'param', name, optional: Boolean(optional) || Boolean(star), constraint: check, catchAll: Boolean(star) };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Routes, tried most specific first (literal before constrained before plain before catch-all). */
export class RouteTable<T> {
  private routes: Route<T>[] = [];

  add(template: string, methods: string[] | undefined, target: T): void {
    const segments = template
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => parseSegment(s, template));
    const rank = segments.map((s) => (s.kind === 'literal' ? 0 : s.catchAll ? 4 : s.optional ? 3 : s.constraint ? 1 : 2));
    this.routes.push({ segments, methods: methods?.length ? new Set(methods.map((m) => m.toUpperCase())) : undefined, target, rank });
    this.routes.sort((a, b) => compareRank(a.rank, b.rank));
  }

  /** Matches a path (below the route prefix, still percent-encoded) and method. */
  match(path: string, method: string): RouteMatch<T> | undefined {
    const parts = path.split('/').filter((s) => s.length > 0);
    for (const route of this.routes) {
      if (route.methods && !route.methods.has(method.toUpperCase())) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { target: route.target, params };
    }
    return undefined;
  }
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? -1;
    const y = b[i] ?? -1;
    if (x !== y) return x === -1 ? 1 : y === -1 ? -1 : x - y;
  }
  return 0;
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg.kind === 'param' && seg.catchAll) {
      const rest = parts.slice(i);
      if (rest.length > 0) params[seg.name] = rest.map(decodeSegment).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) {
      if (seg.kind === 'param' && seg.optional) continue;
      return undefined;
    }
    if (seg.kind === 'literal') {
      if (decodeSegment(part).toLowerCase() !== seg.text) return undefined;
    } else {
      const value = decodeSegment(part);
      if (seg.constraint && !seg.constraint(value)) return undefined;
      params[seg.name] = value;
    }
  }
  return parts.length <= segments.length ? params : undefined;
}
