// Types of sandbox.mjs (plain ESM, so the bench and the demo load it without a loader).
export declare const PROJECT_ROOT: string;

export interface SandboxDir {
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  git(cwd: string, ...args: string[]): string;
  cleanup(): void;
}

export interface Sandbox extends SandboxDir {
  remote: string;
  clone(name: string): string;
  init(name: string): string;
}

export declare function sandboxEnv(home: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function cloneConfig(name: string): Array<[string, string]>;
export declare function makeSandboxDir(prefix?: string): SandboxDir;
export declare function makeSandbox(prefix?: string): Sandbox;
export declare function waitFor<T>(check: () => T | Promise<T>, opts?: { timeoutMs?: number; intervalMs?: number; what?: string }): Promise<NonNullable<T>>;
