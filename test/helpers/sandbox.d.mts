// Types of sandbox.mjs (plain ESM, so the bench and the demo load it without a loader).
export declare const PROJECT_ROOT: string;

export interface TempDir {
  dir: string;
  cleanup(): void;
}

export interface SandboxDir extends TempDir {
  home: string;
  env: NodeJS.ProcessEnv;
  git(cwd: string, ...args: string[]): string;
}

export interface Sandbox extends SandboxDir {
  remote: string;
  clone(name: string): string;
  init(name: string): string;
}

export declare function sandboxEnv(home: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function cloneConfig(name: string): Array<[string, string]>;
export declare function makeTempDir(prefix?: string): TempDir;
export declare function makeSandboxDir(prefix?: string): SandboxDir;
export declare function makeSandbox(prefix?: string): Sandbox;
export declare function waitFor<T>(check: () => T | Promise<T>, opts?: { timeoutMs?: number; intervalMs?: number; what?: string }): Promise<NonNullable<T>>;
