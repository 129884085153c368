// `byzpaxos flow TRACE.json --html OUT`: the message-flow diagram of a recorded trace, one that
// `sim --trace-json` wrote or another tool wrote in the same shape (trace-json.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderFlowHtml } from '../sim/flow-html.ts';
import { FlowTraceError, parseFlowTrace } from '../trace/flow-trace.ts';
import { oneLine, parseOptions, UsageError } from './args.ts';

const OPTIONS = { html: { type: 'string' } } as const;

export function runFlow(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('flow', argv, OPTIONS, 1);
  const path = positionals[0];
  if (path === undefined) throw new UsageError('flow needs a trace file: byzpaxos flow TRACE.json --html OUT');
  if (values.html === undefined || values.html === '') throw new UsageError('flow needs --html OUT, the page to write');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read trace '${path}' (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
  let trace;
  try {
    trace = parseFlowTrace(text);
  } catch (e) {
    if (!(e instanceof FlowTraceError)) throw e;
    throw new UsageError(`trace '${path}' is not a byzpaxos flow trace: ${oneLine(e.message)}`);
  }
  writeOutput('html', values.html, renderFlowHtml(trace));
  process.stdout.write(`${values.html}: ${trace.messages.length} messages, ${trace.evidence.length} evidence, ${trace.n} nodes\n`);
  return 0;
}

/** Writes an output file; failing to is one line, exit 2 (the path was the user's). */
export function writeOutput(option: string, path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageError(`--${option}: cannot write '${path}' (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}
