/**
 * Where this install of sync-coordinator lives, found from this module's own location.
 * The same code runs from the TypeScript sources (tests), from tsc's dist/src/ and from
 * the bundled dist/bin/ chunks, each at a different depth, so it walks up to the
 * package's own package.json rather than counting `..`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'sync-coordinator';
let cached: string | null = null;
let version: string | null = null;

export function packageRoot(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME) {
        version = typeof pkg.version === 'string' ? pkg.version : '0';
        cached = dir;
        return dir;
      }
    } catch {
      /* no package.json here, or not ours: keep walking */
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package around ${start}`);
  }
}

/** This install's version (package.json). */
export function packageVersion(): string {
  packageRoot();
  return version ?? '0';
}

/** The main bin of this install, whatever alias ran us: daemons and hooks start it. */
export function mainBinPath(): string {
  return join(packageRoot(), 'dist', 'bin', 'sync-coordinator.js');
}

/** hooks/<name> shipped with the package (the POSIX hook scripts). */
export function packagedHookScript(name: string): string {
  return join(packageRoot(), 'hooks', name);
}
