/** config.json: absent (defaults) or valid; an invalid one makes every command exit 2. */
import { promises as fs } from 'node:fs';
import { defaultConfig, loadConfig, type Config } from '../shared/config.js';
import { fail, ok, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'config';

export async function checkConfig(file: string): Promise<{ result: CheckResult; config: Config }> {
  const present = await fs.access(file).then(
    () => true,
    () => false,
  );
  try {
    const config = await loadConfig(file);
    return { result: ok(NAME, present ? `${file} is valid` : 'no config.json: defaults'), config };
  } catch (e) {
    // The other checks go on with the defaults.
    return {
      result: fail(
        NAME,
        `${(e as Error).message}; every command refuses to run (exit 2) until it is fixed`,
        `edit ${shellWord(file)} (README: config keys), or move it away to use the defaults`,
      ),
      config: defaultConfig(),
    };
  }
}
