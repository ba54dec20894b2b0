/**
 * The compiled broker as an app folder of its own: links to the repository's `dist/`, `node_modules`
 * and `package.json`, and a `host.json` with the given Durable settings over the repository's, e.g.
 * scaled-down partition leases so a host's death is noticed in seconds.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './broker-host';

export interface BrokerApp {
  dir: string;
  remove(): void;
}

export function prepareBrokerApp(durableTask: Record<string, unknown>): BrokerApp {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-app-'));
  for (const entry of ['dist', 'node_modules', 'package.json']) symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  const hostJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8'));
  hostJson.extensions.durableTask = { ...hostJson.extensions.durableTask, ...durableTask };
  writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson, null, 2));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
