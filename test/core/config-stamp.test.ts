/**
 * The `.config-validated` stamp lets a config whose exact bytes already validated skip
 * zod; it carries this install's version, so a stamp written by another version (maybe
 * another schema) is never trusted.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { packageVersion } from '../../src/shared/package-root.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

describe('config validation stamp', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const dir = () => {
    const { dir: d, cleanup } = makeTempDir('sc-config-');
    cleanups.push(cleanup);
    return d;
  };

  it('a stamp made without this version (another install) does not let an invalid config through', async () => {
    const d = dir();
    const text = JSON.stringify({ no_such_key: 1 });
    writeFileSync(join(d, 'config.json'), text);
    writeFileSync(join(d, '.config-validated'), createHash('sha256').update(text).digest('hex'));
    await expect(loadConfig(join(d, 'config.json'))).rejects.toMatchObject({ exitCode: 2 });
  });

  it('a config that validated is stamped with this version and its bytes', async () => {
    const d = dir();
    const text = JSON.stringify({ max_syncs_per_hour: 7 });
    writeFileSync(join(d, 'config.json'), text);
    expect((await loadConfig(join(d, 'config.json'))).max_syncs_per_hour).toBe(7);
    expect(readFileSync(join(d, '.config-validated'), 'utf8')).toBe(createHash('sha256').update(`${packageVersion()}\0`).update(text).digest('hex'));
  });
});
