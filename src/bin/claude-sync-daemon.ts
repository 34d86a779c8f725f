#!/usr/bin/env node
// Seed-compatible alias: `claude-sync-daemon start|stop|status|run|logs -f` = `sync-coordinator daemon ...`.
import { main } from '../cli/main.js';

await main(['daemon', ...process.argv.slice(2)], 'claude-sync-daemon');
