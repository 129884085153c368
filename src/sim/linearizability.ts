// Linearizability checker for client-observed KV histories: Wing & Gong's search with Lowe's
// memoization, as in Porcupine. Every op touches one key and linearizability is local
// (Herlihy & Wing), so each key's sub-history is checked on its own, which keeps searches small.
import { kvModelStep } from '../app/kv.ts';
import type { KvOp, KvResult } from '../app/kv.ts';

export interface HistoryOp {
  readonly clientId: number;
  readonly seq: number;
  readonly op: KvOp;
  /** Virtual time the client first sent it. */
  readonly invokedAt: number;
  /** Null: no response observed (pending; may or may not have taken effect). */
  readonly completedAt: number | null;
  /** Null iff completedAt is null. */
  readonly result: KvResult | null;
}

export type LinearizabilityResult = { ok: true } | { ok: false; key: string; detail: string };

export const MAX_STATES_PER_KEY_DEFAULT = 1_000_000;
/** Ops listed in a violation's detail before eliding the rest. */
const DETAIL_OPS_MAX = 6;

/**
 * Checks that some total order of the ops respects real time (A before B whenever
 * A.completedAt < B.invokedAt; equal times are concurrent) and replays through kvModelStep
 * with the observed results. Pending ops may take effect at any time after invocation, or never.
 * Exceeding `maxStatesPerKey` memoized search states fails as inconclusive rather than passing.
 */
export function checkLinearizable(
  history: readonly HistoryOp[],
  opts?: { maxStatesPerKey?: number },
): LinearizabilityResult {
  const maxStates = opts?.maxStatesPerKey ?? MAX_STATES_PER_KEY_DEFAULT;
  if (!Number.isSafeInteger(maxStates) || maxStates < 1) {
    throw new Error(`checkLinearizable: maxStatesPerKey must be a positive integer, got ${maxStates}`);
  }
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    validate(h);
    // A pending get has no effect and no observed result: it constrains nothing.
    if (h.completedAt === null && h.op.type === 'get') continue;
    let ops = byKey.get(h.op.key);
    if (ops === undefined) {
      ops = [];
      byKey.set(h.op.key, ops);
    }
    ops.push(h);
  }
  for (const [key, ops] of byKey) {
    const verdict = checkKey(key, ops, maxStates);
    if (!verdict.ok) return verdict;
  }
  return { ok: true };
}

function validate(h: HistoryOp): void {
  const name = `c${h.clientId}#${h.seq}`;
  if (!Number.isFinite(h.invokedAt)) throw new Error(`checkLinearizable: ${name} has invokedAt ${h.invokedAt}`);
  if ((h.completedAt === null) !== (h.result === null)) {
    throw new Error(`checkLinearizable: ${name} must have both completedAt and result, or neither`);
  }
  if (h.completedAt !== null && !(h.completedAt >= h.invokedAt)) {
    throw new Error(`checkLinearizable: ${name} completes at ${h.completedAt} before its invocation at ${h.invokedAt}`);
  }
}

const CALL = 0;
const RETURN = 1;

interface StackEntry {
  readonly op: number;
  /** Model state before the op. */
  readonly state: string | null;
  /** The op preserved the state and matched its result, so taking it first loses no
   * linearization; backtracking past it therefore also abandons its parent's other choices. */
  readonly forced: boolean;
}

/** The deepest point the search reached, reported when it fails. */
interface Deepest {
  readonly completed: number;
  readonly state: string | null;
  /** The op whose return comes first there (-1: none). */
  readonly blocker: number;
  /** The ops that could take effect before that return. */
  readonly candidates: readonly number[];
}

/**
 * Search over one key. The history becomes a doubly linked list of call and return events in
 * time order (calls before returns at equal times, so those ops are concurrent). The calls
 * before the first remaining return are the ops that may take effect next; reaching a return
 * means its op was not placed in time, so the search backtracks.
 */
function checkKey(key: string, ops: readonly HistoryOp[], maxStates: number): LinearizabilityResult {
  const n = ops.length;
  const events: { time: number; kind: number; op: number }[] = [];
  for (let i = 0; i < n; i++) {
    const h = ops[i]!;
    events.push({ time: h.invokedAt, kind: CALL, op: i });
    if (h.completedAt !== null) events.push({ time: h.completedAt, kind: RETURN, op: i });
  }
  events.sort((a, b) => a.time - b.time || a.kind - b.kind || a.op - b.op);

  // Node 0 is the list head; event e is node e + 1; -1 ends the list.
  const nodes = events.length + 1;
  const next = new Int32Array(nodes);
  const prev = new Int32Array(nodes);
  const callNode = new Int32Array(n);
  const returnNode = new Int32Array(n).fill(-1);
  for (let node = 0; node < nodes; node++) {
    next[node] = node + 1 < nodes ? node + 1 : -1;
    prev[node] = node - 1;
  }
  for (let e = 0; e < events.length; e++) {
    const ev = events[e]!;
    if (ev.kind === CALL) callNode[ev.op] = e + 1;
    else returnNode[ev.op] = e + 1;
  }
  const isCall = (node: number): boolean => events[node - 1]!.kind === CALL;
  const opOf = (node: number): number => events[node - 1]!.op;
  const unlink = (node: number): void => {
    next[prev[node]!] = next[node]!;
    if (next[node] !== -1) prev[next[node]!] = prev[node]!;
  };
  // Dancing links: relinking in reverse order of unlinking restores the list exactly.
  const relink = (node: number): void => {
    next[prev[node]!] = node;
    if (next[node] !== -1) prev[next[node]!] = node;
  };
  const lift = (i: number): void => {
    unlink(callNode[i]!);
    if (returnNode[i] !== -1) unlink(returnNode[i]!);
  };
  const unlift = (i: number): void => {
    if (returnNode[i] !== -1) relink(returnNode[i]!);
    relink(callNode[i]!);
  };

  // Linearized ops as a bitset; with the model state it keys the memo of explored dead ends.
  const bits = new Uint16Array(Math.ceil(n / 16));
  const flip = (i: number): void => {
    bits[i >> 4]! ^= 1 << (i & 15);
  };
  const memo = new Set<string>();
  // Values are interned so memo keys stay short however long the values are; the bitset's
  // string has a fixed length per key, so appending the value's id keeps keys unique.
  const valueIds = new Map<string, number>();
  const memoKey = (state: string | null): string => {
    let id = 0;
    if (state !== null) {
      id = valueIds.get(state) ?? valueIds.size + 1;
      valueIds.set(state, id);
    }
    return String.fromCharCode(...bits) + id;
  };

  const completedTotal = ops.filter((h) => h.completedAt !== null).length;
  let completedLeft = completedTotal;
  let state: string | null = null;
  const stack: StackEntry[] = [];
  let best: Deepest = { completed: -1, state: null, blocker: -1, candidates: [] };

  let node = next[0]!;
  for (;;) {
    if (completedLeft === 0) return { ok: true };
    if (completedTotal - completedLeft > best.completed) {
      best = { completed: completedTotal - completedLeft, state, ...frontier(next, isCall, opOf) };
    }
    let backtrack = node === -1 || !isCall(node);
    if (!backtrack) {
      const i = opOf(node);
      const h = ops[i]!;
      const step = kvModelStep(state, h.op);
      const preserves = step.next === state;
      // A pending op that changes nothing is the same as one that never takes effect.
      const fits = h.result === null ? !preserves : resultsEqual(step.result, h.result);
      if (fits) {
        flip(i);
        const k = memoKey(step.next);
        const forced = h.result !== null && preserves;
        if (!memo.has(k)) {
          if (memo.size >= maxStates) {
            return {
              ok: false,
              key,
              detail: `search inconclusive for key ${JSON.stringify(key)}: explored ${maxStates} states (maxStatesPerKey) over ${n} ops without a verdict`,
            };
          }
          memo.add(k);
          stack.push({ op: i, state, forced });
          state = step.next;
          lift(i);
          if (h.result !== null) completedLeft--;
          node = next[0]!;
          continue;
        }
        flip(i);
        // A forced op's subtree is already known to fail, so its parent fails too.
        backtrack = forced;
      }
      if (!backtrack) {
        node = next[node]!;
        continue;
      }
    }
    // Undo the newest free choice (and the forced ones above it), then try its next sibling.
    let top: StackEntry | undefined;
    do {
      top = stack.pop();
      if (top === undefined) return { ok: false, key, detail: violation(key, ops, completedTotal, best) };
      state = top.state;
      flip(top.op);
      unlift(top.op);
      if (ops[top.op]!.result !== null) completedLeft++;
    } while (top.forced);
    node = next[callNode[top.op]!]!;
  }
}

function frontier(
  next: Int32Array,
  isCall: (node: number) => boolean,
  opOf: (node: number) => number,
): { blocker: number; candidates: number[] } {
  const candidates: number[] = [];
  for (let node = next[0]!; node !== -1; node = next[node]!) {
    if (!isCall(node)) return { blocker: opOf(node), candidates };
    candidates.push(opOf(node));
  }
  return { blocker: -1, candidates };
}

function resultsEqual(a: KvResult, b: KvResult): boolean {
  return a.ok === b.ok && a.value === b.value;
}

function violation(
  key: string,
  ops: readonly HistoryOp[],
  completedTotal: number,
  best: Deepest,
): string {
  const shown = best.candidates.slice(0, DETAIL_OPS_MAX).map((i) => formatOp(ops[i]!));
  if (best.candidates.length > shown.length) shown.push(`+${best.candidates.length - shown.length} more`);
  const blocker = best.blocker === -1 ? 'an op' : formatOp(ops[best.blocker]!);
  return (
    `not linearizable on key ${JSON.stringify(key)}: at best ${best.completed} of ${completedTotal} completed ops ` +
    `linearize (value then ${formatValue(best.state)}), after which ${blocker} cannot take effect in time; ` +
    `ops that could go next: ${shown.join('; ')}`
  );
}

function formatValue(v: string | null): string {
  return v === null ? 'absent' : JSON.stringify(v);
}

function formatOp(h: HistoryOp): string {
  const op = h.op;
  let call: string;
  switch (op.type) {
    case 'put':
      call = `put(${formatValue(op.value)})`;
      break;
    case 'get':
      call = 'get()';
      break;
    case 'delete':
      call = 'delete()';
      break;
    case 'cas':
      call = `cas(${formatValue(op.expected)} -> ${formatValue(op.value)})`;
      break;
  }
  const outcome = h.result === null ? 'pending' : `ok=${h.result.ok} value=${formatValue(h.result.value)}`;
  const end = h.completedAt === null ? '...' : String(h.completedAt);
  return `c${h.clientId}#${h.seq} ${call} -> ${outcome} [${h.invokedAt}, ${end}]`;
}
