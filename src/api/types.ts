/**
 * What the API's routes need from the process that serves them (the user daemon): its
 * workspaces, the event bus, a logger and the TCP listener's own state. The routes hold
 * no state of their own, so the Unix socket and the TCP listener serve the same handlers.
 */
import type { EventBus } from '../shared/events.js';
import type { ApiListenerState, ServedWorkspace } from '../core/served.js';
import type { Logger } from '../shared/log.js';

export type { ApiListenerState, ServedWorkspace } from '../core/served.js';

export interface ApiDeps {
  workspaces(): ServedWorkspace[];
  byId(id: string): ServedWorkspace | undefined;
  bus: EventBus;
  logger: Logger;
  listener(): ApiListenerState;
}
