// `byzpaxos flow TRACE.json… --html OUT`: the message-flow diagram of a recorded run: one flow
// trace (what `sim --trace-json` wrote, or another tool in the same shape), or the traces the
// members of a deployed run wrote (`start --trace-json`), merged into one (src/trace/merge.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { NODE_ID_MAX } from '../base/limits.ts';
import { renderFlowHtml } from '../sim/flow-html.ts';
import { FlowTraceError, type FlowTrace } from '../trace/flow-trace.ts';
import { mergeMemberTraces, parseTraceFile, type NamedMemberTrace, type TraceFile } from '../trace/merge.ts';
import { oneLine, parseOptions, UsageError } from './args.ts';

const OPTIONS = { html: { type: 'string' } } as const;
/** One trace per member at most. */
const TRACE_FILES_MAX = NODE_ID_MAX + 1;

export function runFlow(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('flow', argv, OPTIONS, TRACE_FILES_MAX);
  if (positionals.length === 0) throw new UsageError('flow needs a trace file: byzpaxos flow TRACE.json --html OUT, or one file per member: byzpaxos flow N0.json N1.json … --html OUT');
  if (values.html === undefined || values.html === '') throw new UsageError('flow needs --html OUT, the page to write');
  const files = positionals.map((path) => ({ path, file: readTrace(path) }));
  const trace = files.length === 1 && files[0]!.file.kind === 'flow' ? files[0]!.file.trace : merge(files);
  writeOutput('html', values.html, renderFlowHtml(trace));
  process.stdout.write(`${values.html}: ${trace.messages.length} messages, ${trace.evidence.length} evidence, ${trace.n} nodes${trace.source === 'deployed' ? deployedSummary(trace, files.length) : ''}\n`);
  return 0;
}

function readTrace(path: string): TraceFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read trace '${path}' (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
  try {
    return parseTraceFile(text);
  } catch (e) {
    if (!(e instanceof FlowTraceError)) throw e;
    throw new UsageError(`trace '${path}' is not a byzpaxos flow trace: ${oneLine(e.message)}`);
  }
}

/** The members' traces as one; a flow trace among several files is refused (it is a whole run already). */
function merge(files: readonly { path: string; file: TraceFile }[]): FlowTrace {
  const members: NamedMemberTrace[] = [];
  for (const { path, file } of files) {
    if (file.kind === 'flow') throw new UsageError(`flow: '${path}' is a whole run's trace (${file.trace.source}); draw it alone, or give only members' traces (start --trace-json)`);
    members.push({ name: `'${path}'`, trace: file.trace });
  }
  try {
    return mergeMemberTraces(members);
  } catch (e) {
    if (!(e instanceof FlowTraceError)) throw e;
    throw new UsageError(`flow: ${oneLine(e.message)}`);
  }
}

/** Whose traces the page is made of, and how much of it both ends recorded. */
function deployedSummary(trace: FlowTrace, files: number): string {
  const paired = trace.messages.filter((m) => m.recordedBy === 'both').length;
  const unrecorded = trace.unrecorded > 0 ? `, ${trace.unrecorded} messages not recorded (a trace was full)` : '';
  return ` (${files} member trace${files === 1 ? '' : 's'}, ${paired} messages recorded by both ends${unrecorded})`;
}

/** Writes an output file; failing to is one line, exit 2 (the path was the user's). */
export function writeOutput(option: string, path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageError(`--${option}: cannot write '${path}' (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}
