// A member's own configuration file, so that `byzpaxos start /etc/byzpaxos/n0.json` is the whole
// command line of a systemd unit or a container:
//   {"config": "cluster.json", "id": 0, "data": "/var/lib/byzpaxos", "metrics-port": 9464}
// Its keys are start's option names; relative paths are relative to the file. The command line
// overrides the environment (BYZPAXOS_*), which overrides the file.
import { dirname, isAbsolute, join } from 'node:path';
import { readBounded } from '../deploy/cluster-file.ts';
import { oneLine, UsageError } from './args.ts';

/** A member file is a handful of fields. */
export const MEMBER_FILE_BYTES_MAX = 64 * 1024;
/** Fields that name files, read relative to the member file. */
const PATH_FIELDS = new Set(['config', 'data', 'key', 'trace-json']);

/** The file's options as strings, as the command line gives them; one-line UsageError on anything else. */
export function readMemberFile(path: string, known: readonly string[]): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readBounded(path, MEMBER_FILE_BYTES_MAX));
  } catch (e) {
    throw new UsageError(`start: member file ${oneLine((e as Error).message)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`start: member file ${path}: not a JSON object`);
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!known.includes(name)) throw new UsageError(`start: member file ${path}: unknown field "${name}" (expected ${known.join(', ')})`);
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
      throw new UsageError(`start: member file ${path}: "${name}" must be a string or an integer`);
    }
    const text = String(value);
    values[name] = PATH_FIELDS.has(name) && !isAbsolute(text) ? join(dirname(path), text) : text;
  }
  return values;
}
