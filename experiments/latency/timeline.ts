// Where one put's time goes in a deployed Byzantine cluster at one client: sequential puts with
// wall-clock stamps against a cluster that `up --trace-json` started, then, from the members' own
// traces (every frame each sent and received, and each decision, on the one wall clock), the
// median time since the put was issued of each step of its slot:
//
//   npx byzpaxos up --nodes 4 --mode byzantine --dir /tmp/lat --trace-json /tmp/lat/trace/run.json &
//   npx node experiments/latency/timeline.ts --config /tmp/lat/cluster.json --trace /tmp/lat/trace/run.json [--ops 200] [--json]
//
// The members rewrite their trace files every TRACE_WRITE_MS, so the script waits that long (and
// a little) after its last put before reading them; the cluster keeps running (stop `up` yourself).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clientArgs, withClient } from '../../src/cli/client-commands.ts';
import { TRACE_WRITE_MS } from '../../src/cli/start.ts';
import { memberTracePath } from '../../src/cli/up.ts';
import { loadClusterFile } from '../../src/deploy/cluster-file.ts';
import { median, percentile, round } from '../../src/experiments/closed-loop.ts';
import { parseMemberTrace, type MemberMessage } from '../../src/trace/member-trace.ts';
import { CLIENTS } from '../../src/trace/flow-trace.ts';

const { values } = parseArgs({
  options: { config: { type: 'string' }, trace: { type: 'string' }, ops: { type: 'string', default: '200' }, json: { type: 'boolean', default: false } },
});
if (values.config === undefined || values.trace === undefined) throw new Error('timeline: needs --config CLUSTER.json and --trace FILE (what up --trace-json was given)');
const ops = Number(values.ops);
if (!Number.isSafeInteger(ops) || ops < 1 || ops > 10_000) throw new Error(`timeline: --ops must be an integer in 1..10000, got ${values.ops}`);
const WARMUP = 50;
const VALUE = 'v'.repeat(100);

const wallMs = () => performance.timeOrigin + performance.now();
const puts: { startMs: number; endMs: number }[] = [];
await withClient(clientArgs('timeline', { config: values.config }, 10_000), async (client) => {
  for (let i = 0; i < WARMUP; i++) await client.put(`w${i % 8}`, VALUE);
  for (let i = 0; i < ops; i++) {
    const startMs = wallMs();
    await client.put(`k${i % 64}`, VALUE);
    puts.push({ startMs, endMs: wallMs() });
  }
});
await new Promise((resolve) => setTimeout(resolve, TRACE_WRITE_MS + 2_000));

interface Event {
  readonly atMs: number;
  readonly member: number;
  readonly kind: MemberMessage['kind'] | 'decided';
  readonly type: string;
  readonly peer: number;
  readonly slot: number | null;
}
const n = loadClusterFile(values.config).members.length;
const events: Event[] = [];
for (let id = 0; id < n; id++) {
  const trace = parseMemberTrace(readFileSync(memberTracePath(values.trace, id), 'utf8'));
  for (const m of trace.messages) events.push({ atMs: m.atMs, member: id, kind: m.kind, type: m.type, peer: m.peer, slot: m.slot });
  for (const d of trace.decisions) events.push({ atMs: d.atMs, member: id, kind: 'decided', type: 'decide', peer: id, slot: d.slot });
}
events.sort((a, b) => a.atMs - b.atMs);

/** The steps, in order; each put's value is ms since it was issued (undefined when its trace lacks the step). */
const STEPS = [
  'leader received the request',
  'leader sent Accept and its own Verify',
  'followers received the Accept (median follower)',
  'followers sent their Verify (median follower)',
  'members prepared: sent Accepted (median member)',
  'second member decided (f+1 can answer)',
  'last member decided',
  'second designated replier answered',
  'client had f+1 matching replies',
] as const;
const samples = new Map<string, number[]>(STEPS.map((s) => [s, []]));
const add = (step: (typeof STEPS)[number], value: number | undefined) => {
  if (value !== undefined) samples.get(step)!.push(value);
};
const mid = (values: number[]) => (values.length === 0 ? undefined : median(values));

let from = 0;
for (const put of puts) {
  while (from < events.length && events[from]!.atMs < put.startMs) from++;
  const window: Event[] = [];
  for (let i = from; i < events.length && events[i]!.atMs <= put.endMs; i++) window.push(events[i]!);
  const request = window.find((e) => e.kind === 'received' && e.type === 'request' && e.peer === CLIENTS);
  const accept = window.find((e) => e.kind === 'sent' && e.type === 'accept');
  if (request === undefined || accept === undefined) continue;
  const leader = request.member;
  const slot = window.filter((e) => e.slot === accept.slot);
  const since = (e: Event | undefined) => (e === undefined ? undefined : e.atMs - put.startMs);
  const each = (members: number[], kind: Event['kind'], type: string) =>
    members.map((m) => since(slot.find((e) => e.member === m && e.kind === kind && e.type === type))).filter((v): v is number => v !== undefined);
  const all = Array.from({ length: n }, (_, m) => m);
  const followers = all.filter((m) => m !== leader);
  const decided = each(all, 'decided', 'decide').sort((a, b) => a - b);
  const replies = window.filter((e) => e.kind === 'sent' && e.type === 'reply' && e.peer === CLIENTS).map(since) as number[];
  add('leader received the request', since(request));
  add('leader sent Accept and its own Verify', since(accept));
  add('followers received the Accept (median follower)', mid(each(followers, 'received', 'accept')));
  add('followers sent their Verify (median follower)', mid(each(followers, 'sent', 'verify')));
  add('members prepared: sent Accepted (median member)', mid(each(all, 'sent', 'accepted')));
  add('second member decided (f+1 can answer)', decided[1]);
  add('last member decided', decided[decided.length - 1]);
  add('second designated replier answered', replies.sort((a, b) => a - b)[1]);
  add('client had f+1 matching replies', put.endMs - put.startMs);
}

const rows = STEPS.map((step) => {
  const sorted = [...samples.get(step)!].sort((a, b) => a - b);
  return { step, puts: sorted.length, p50Ms: round(percentile(sorted, 0.5), 2), p90Ms: round(percentile(sorted, 0.9), 2) };
});
if (values.json) {
  console.log(JSON.stringify({ ops, rows }));
} else {
  console.log(`${ops} sequential puts of ${VALUE.length} B, ms since each was issued (median, p90):`);
  for (const r of rows) console.log(`${r.step.padEnd(52)} ${String(r.p50Ms).padStart(7)} ${String(r.p90Ms).padStart(7)}  (${r.puts} puts)`);
}
