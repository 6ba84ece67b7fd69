import { errorMessage } from '../common/errors.js';
import { verifyDataDirectory } from '../storage/log-verifier.js';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import { type CommandSpec, helpText, parseCommand, stringValue } from './command-spec.js';
import { outputFormat, printOutput, renderTable } from './output.js';

/**
 * `pyralog verify --data DIR`: the offline storage checker. Run it with the
 * broker stopped; it reads every segment and index file and names every
 * damaged batch (file and byte range) and every index that disagrees with
 * its log. Exit code 0 when nothing is damaged, 1 when something is.
 */
const spec: CommandSpec = {
  name: 'pyralog verify',
  summary: 'check a stopped broker data directory and name every damaged batch',
  options: {
    data: { type: 'string', valueName: 'DIR', description: 'the broker data directory (required)' },
    format: { type: 'string', valueName: 'table|json|yaml', description: 'output format [table]' },
  },
  details:
    'Checks every batch (length, magic, CRC32C, leader epoch, offsets that follow on) of every segment,\n' +
    'going on past damage, and every index file against its log. Exit code 0 when all is well, 1 when\n' +
    'damage was found. Read-only; the broker repairs what it can when it next opens a partition.',
};

export async function verifyCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (parsed === null) return ExitCode.OK;
  const dataDir = stringValue(parsed.values, 'data');
  if (dataDir === undefined) throw new UsageError('--data DIR is required', helpText(spec));
  const format = outputFormat(stringValue(parsed.values, 'format'), helpText(spec));
  let report: ReturnType<typeof verifyDataDirectory>;
  try {
    report = verifyDataDirectory(dataDir);
  } catch (error) {
    throw new CliError(`cannot read ${dataDir}: ${errorMessage(error)}`, ExitCode.FAILURE);
  }
  printOutput(format, report, () => {
    const summary = `${report.partitions} partitions, ${report.segments} segments, ${report.batches} valid batches, ${report.damage.length} damaged`;
    if (report.damage.length === 0) return `${summary}\nno damage found`;
    const table = renderTable(report.damage, [
      { header: 'file', value: (damage) => damage.path },
      {
        header: 'bytes',
        value: (damage) => (damage.fromByte < 0 ? '-' : `${damage.fromByte}..${damage.toByte}`),
      },
      { header: 'problem', value: (damage) => damage.problem },
    ]);
    return `${table}\n${summary}`;
  });
  return report.damage.length === 0 ? ExitCode.OK : ExitCode.FAILURE;
}
