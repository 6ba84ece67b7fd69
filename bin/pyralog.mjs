#!/usr/bin/env -S node --initial-old-space-size=128
// Node flags: see src/cli/broker-node-flags.ts (V8 reads them only at start-up).
// The `pyralog` command. The TypeScript sources are compiled to dist/ by
// `npm run build` (npm runs it on install through the `prepare` script).
import { main } from '../dist/src/cli/main.js';

// `pyralog consume … | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (exitCode) => {
    if (typeof exitCode === 'number') process.exitCode = exitCode;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
