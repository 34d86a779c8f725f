/**
 * The meeting point of the user daemon and its API, which are sibling services and so
 * import neither each other: the daemon serves workspaces (this view of them) and
 * takes its API as a factory from the command that starts it; the API gets the
 * workspaces, the event bus and a logger through this context.
 */
import type { RequestListener } from 'node:http';
import type { Config } from '../shared/config.js';
import type { ProcessReport } from './drain-types.js';
import type { EventBus } from '../shared/events.js';
import type { RequestOutcome } from './results.js';
import type { Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { UserPaths } from '../shared/user-paths.js';

export interface WorkspaceView {
  id: string;
  path: string;
  status: 'starting' | 'running' | 'failed' | 'stopped';
  error: string | null;
  since: string;
}

export interface ServedWorkspace {
  view(): WorkspaceView;
  /** Workspace and config while it is served; null otherwise. */
  live(): { ws: Workspace; config: Config } | null;
  /** Wake the workspace's loop (a request was just written). */
  poke(): void;
  /** Resolves with the request's outcome; `onStep` sees the steps of the syncs meanwhile. */
  wait(id: string, onStep: (step: string, op: string) => void, signal: AbortSignal): Promise<RequestOutcome>;
}

/** The TCP listener as `GET /workspaces` and `daemon status` report it. */
export interface ApiListenerState {
  enabled: boolean;
  listening: boolean;
  url: string | null;
  port: number | null;
  /** Why it is down (port in use, ...), or null. */
  error: string | null;
}

export interface DaemonApiContext {
  workspaces(): ServedWorkspace[];
  byId(id: string): ServedWorkspace | undefined;
  bus: EventBus;
  logger: Logger;
  paths: UserPaths;
  /** The global config's `api` key. */
  api: { enabled: boolean; port: number };
  /** The listener went up or down (the daemon records it in daemon-state.json). */
  onState(): void;
}

/** A workspace's events from its unit's callbacks. */
export interface WorkspaceObserver {
  step(step: string, op: string): void;
  report(report: ProcessReport): void;
}

export interface DaemonApi {
  /** Serves the control socket (no token: its permissions are the guard). */
  socketHandler: RequestListener;
  observe(id: string, ws: Workspace, config: () => Config): Promise<WorkspaceObserver>;
  state(): ApiListenerState;
  close(): Promise<void>;
}

export type DaemonApiFactory = (ctx: DaemonApiContext) => Promise<DaemonApi>;
