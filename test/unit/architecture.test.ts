/**
 * docs/architecture.md's table of rooms is the layering of src/: every entry under src/ has a row,
 * and every import from one room into another goes to the same row or one further down.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** Imports the document names as the known exception, each with its reason there. */
const KNOWN_UPWARD = ['config -> providers'];

/** Room name → row index, from the first column of the table under "## The rooms". */
function roomRows(): Map<string, number> {
  const doc = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The rooms'), doc.indexOf('## The one direction'));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  const rooms = new Map<string, number>();
  rows.forEach((line, index) => {
    for (const [, name] of line.split('|')[1].matchAll(/`([^`]+)`/g)) rooms.set(name.replace(/\/$|\.ts$/, ''), index);
  });
  return rooms;
}

function roomOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0].replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every "from → to" between rooms, from the files' import, export and require statements. */
function crossRoomImports(): Array<{ file: string; from: string; to: string }> {
  return sourceFiles(SRC).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.map((imported) => imported.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => ({ file: path.relative(ROOT, file), from: roomOf(file), to: roomOf(path.resolve(path.dirname(file), name)) }))
      .filter((edge) => edge.from !== edge.to),
  );
}

test('every entry under src/ has a row in the table', () => {
  const rooms = roomRows();
  const entries = readdirSync(SRC).map((name) => name.replace(/\.ts$/, ''));
  expect(entries.filter((name) => !rooms.has(name))).toEqual([]);
  expect([...rooms.keys()].filter((name) => !entries.includes(name))).toEqual([]);
});

test('imports between rooms point down the table', () => {
  const rooms = roomRows();
  const edges = crossRoomImports();
  expect(edges.length).toBeGreaterThan(50);
  const upward = edges.filter((e) => rooms.get(e.to)! < rooms.get(e.from)!);
  expect(upward.filter((e) => !KNOWN_UPWARD.includes(`${e.from} -> ${e.to}`)).map((e) => `${e.file}: ${e.from} -> ${e.to}`)).toEqual([]);
  // An exception that no longer happens is removed here and from the document.
  for (const known of KNOWN_UPWARD) expect(upward.map((e) => `${e.from} -> ${e.to}`)).toContain(known);
});
