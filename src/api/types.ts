/**
 * What the API's routes need from the process that serves them (the user daemon): its
 * workspaces, the event bus, a logger and the TCP listener's own state. The routes hold
 * no state of their own, so the Unix socket and the TCP listener serve the same handlers.
 */
import type { Config } from '../core/config.js';
import type { RequestOutcome } from '../core/results.js';
import type { Workspace } from '../core/workspace.js';
import type { EventBus } from '../daemon/events.js';
import type { Logger } from '../log.js';

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

export interface ApiDeps {
  workspaces(): ServedWorkspace[];
  byId(id: string): ServedWorkspace | undefined;
  bus: EventBus;
  logger: Logger;
  listener(): ApiListenerState;
}
