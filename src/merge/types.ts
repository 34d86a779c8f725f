import type { MergeStrategy } from '../shared/config.js';

export interface MergeInput {
  path: string;
  /** null: the file was added on both sides (add/add). */
  base: Buffer | null;
  /** This device's side. */
  local: Buffer;
  /** The remote's side. */
  remote: Buffer;
  /** Commit times (ms) of each side: they order both-inserted lines and pick text-newest's side. */
  localTime: number;
  remoteTime: number;
  strategy: MergeStrategy;
}

export type MergeResult =
  | { status: 'merged'; content: Buffer; strategy: MergeStrategy; hunks: number; notes?: string[] }
  | {
      status: 'unresolved';
      strategy: MergeStrategy;
      reason: string;
      hunks: number;
      unresolvedHunks: number;
      /** Every resolved hunk applied, the remote's side where a hunk stays unresolved; null when not text. */
      partial: Buffer | null;
    };
