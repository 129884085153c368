// `byzpaxos evidence verify FILE [--config cluster.json]`: judge a misbehaviour proof. Exit 0 with
// one line naming the culprit if it is genuine, 1 with one line saying why if it is not (tampered,
// malformed, honest, another cluster), 2 if the command line or a file cannot be used. Without
// --config the proof is checked against the cluster the file itself names, which anyone can make
// up: the line says so. A file that was only pretty-printed is read in its canonical layout.
import { readFileSync } from 'node:fs';
import { parseClusterFile, toClusterConfig } from '../deploy/cluster-file.ts';
import { decodeClusterFile, decodeEvidenceFile, withoutJsonWhitespace } from '../evidence/file.ts';
import { verifyEvidence } from '../evidence/verify.ts';
import { clusterIdOf, validateCluster, type ClusterConfig } from '../modes/byzantine/cluster.ts';
import { bytesEqual, toHex } from '../../crypto/digest.ts';
import { oneLine, parseOptions, UsageError } from './args.ts';

const ACTIONS = ['verify'];
/** Hex digits of the cluster id printed: enough to tell clusters apart at a glance. */
const CLUSTER_ID_SHOWN = 16;

export function runEvidence(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('evidence', argv, { config: { type: 'string' }, json: { type: 'boolean' } }, 2);
  const [action, file] = positionals;
  if (action === undefined) throw new UsageError(`missing evidence action (one of ${ACTIONS.join(', ')})`);
  if (!ACTIONS.includes(action)) throw new UsageError(`unknown evidence action '${action}' (one of ${ACTIONS.join(', ')})`);
  if (file === undefined) throw new UsageError('evidence verify: missing FILE');
  const text = read(file, 'evidence verify');
  const expected = values.config === undefined ? null : readCluster(values.config);

  let judgement: Judgement;
  try {
    judgement = judge(text, expected);
  } catch (e) {
    const reason = oneLine((e as Error).message);
    if (values.json === true) process.stdout.write(`${JSON.stringify({ genuine: false, reason })}\n`);
    process.stderr.write(`byzpaxos: evidence rejected: ${reason}\n`);
    return 1;
  }
  process.stdout.write(values.json === true ? `${JSON.stringify(judgement.fields)}\n` : `${judgement.line}\n`);
  return 0;
}

interface Judgement {
  readonly line: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Genuine evidence, as a line and as JSON fields; throws why the file proves nothing. */
function judge(text: string, expected: ClusterConfig | null): Judgement {
  const { cluster, evidence } = decodeEvidenceFile(withoutJsonWhitespace(text));
  const clusterId = clusterIdOf(cluster);
  if (expected !== null && !bytesEqual(clusterIdOf(expected), clusterId)) throw new Error('evidence is for another cluster');
  const verdict = verifyEvidence(cluster, evidence);
  if (!verdict.ok) throw new Error(verdict.reason);
  const shown = toHex(clusterId).slice(0, CLUSTER_ID_SHOWN);
  const which = expected === null ? `cluster ${shown} as the file names it, not checked: give --config CLUSTER.json to check it is yours` : `cluster ${shown}`;
  return {
    line: `genuine: ${evidence.kind} by n${verdict.culprit} — ${verdict.summary} (${which})`,
    fields: { genuine: true, kind: evidence.kind, culprit: verdict.culprit, summary: verdict.summary, cluster: toHex(clusterId), clusterChecked: expected !== null },
  };
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read '${path}' (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}

/** The cluster `--config` names: a mistake there is the operator's, so a usage error. */
function readCluster(path: string): ClusterConfig {
  const text = read(path, '--config');
  try {
    // A deployment's cluster.json (from `init`: versioned, with addresses), or the bare cluster an
    // evidence file or `sim --evidence-out` carries.
    if (/^\s*\{\s*"version"/.test(text)) return toClusterConfig(parseClusterFile(text, path), path);
    const cluster = decodeClusterFile(text);
    validateCluster(cluster);
    return cluster;
  } catch (e) {
    throw new UsageError(`--config: ${oneLine((e as Error).message)}`);
  }
}
