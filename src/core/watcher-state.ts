/**
 * What a running watcher reports about itself. The watcher (watcher/) returns it, the
 * daemon records it in daemon-state.json, and status and doctor print it: the type sits
 * below all of them so that they share one definition.
 */
export type WatchMode = 'native' | 'polling' | 'git-status';

export interface WatcherState {
  mode: WatchMode;
  watching: boolean;
  pending: number;
  lastEventAt: string | null;
  lastFireAt: string | null;
  error: string | null;
}
