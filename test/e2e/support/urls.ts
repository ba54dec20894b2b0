/** Copies of a callback URL with one query parameter replaced or removed (bad-input cases). */
export function withParam(url: URL, name: string, value: string): string {
  const copy = new URL(url);
  copy.searchParams.set(name, value);
  return copy.toString();
}

export function without(url: URL, name: string): string {
  const copy = new URL(url);
  copy.searchParams.delete(name);
  return copy.toString();
}
