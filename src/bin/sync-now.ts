#!/usr/bin/env node
// Seed-compatible alias: `sync-now` = `sync-coordinator sync-now`.
import { main } from '../cli/main.js';

await main(['sync-now', ...process.argv.slice(2)], 'sync-now');
