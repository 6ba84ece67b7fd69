/** `npm run bench:peers` (and any `pyralog bench …` run from the sources): the bench command without a build. */
import { benchCommand } from './bench-command.js';

process.exitCode = await benchCommand(process.argv.slice(2));
