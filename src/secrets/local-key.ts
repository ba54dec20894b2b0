/**
 * Local development without BROKER_ENCRYPTION_KEY: a key is generated on first use and kept in
 * `<app>/.devhost/broker-encryption-key` (git-ignored, mode 0600), so tokens sealed by one run stay
 * readable by the next. Only ever for local storage (development storage or loopback endpoints):
 * against a real account the key must come from Key Vault or the setting.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_BYTES = 32;

/** `<app>/.devhost/broker-encryption-key`, the app being the nearest folder with a package.json. */
export function defaultKeyFile(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, '.devhost', 'broker-encryption-key');
}

export function loadOrCreateLocalKey(file = defaultKeyFile()): Buffer {
  try {
    return decode(fs.readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return decode(fs.readFileSync(file, 'utf8'), file);
}

function decode(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold the base64 of ${KEY_BYTES} bytes`);
  return key;
}
