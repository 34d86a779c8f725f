/**
 * The API token: `$XDG_CONFIG_HOME/sync-coordinator/api-token`, 32 random bytes as
 * base64url, created on the first start with mode 0600 (exclusive create, so two
 * starts never write two tokens). An existing file is used as it is when it is a
 * regular file of ours; looser permissions are tightened, since the token is the only
 * guard of the TCP listener.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { StateDirError } from '../shared/errors.js';
import { currentUid } from '../shared/socket-check.js';

const MIN_LENGTH = 32;

export async function ensureApiToken(file: string): Promise<{ token: string; created: boolean }> {
  await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readToken(file);
  if (existing) return { token: existing, created: false };
  const token = randomBytes(32).toString('base64url');
  try {
    await fs.writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Too short or empty: replace it. Another start won the race: use its token.
    const raced = await readToken(file);
    if (raced) return { token: raced, created: false };
    await fs.writeFile(file + '.tmp', token + '\n', { mode: 0o600 });
    await fs.rename(file + '.tmp', file);
  }
  return { token, created: true };
}

async function readToken(file: string): Promise<string | null> {
  let st: Stats;
  try {
    st = await fs.lstat(file);
  } catch {
    return null;
  }
  if (!st.isFile()) throw new StateDirError(`refusing to use ${file} as the API token: not a regular file`);
  const uid = currentUid();
  if (uid >= 0 && st.uid !== uid) throw new StateDirError(`refusing to use ${file} as the API token: owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o077) !== 0) await fs.chmod(file, 0o600);
  const token = (await fs.readFile(file, 'utf8')).trim();
  return token.length >= MIN_LENGTH && /^[A-Za-z0-9_-]+$/.test(token) ? token : null;
}
