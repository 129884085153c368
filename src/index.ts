export type { Mode } from './base/mode.ts';
export type { Ballot } from './base/types.ts';
// Public surface of the byzpaxos library.
export { BOTTOM, compareBallots, formatBallot } from './base/ballot.ts';
export { crashQuorums, flexibleQuorums, type QuorumSpec } from './core/quorum.ts';
export { defaultConfig, type CoreConfig } from './core/config.ts';
export type { ProtocolNode } from './core/protocol.ts';
export type { Effect, Input, PersistRecord, TimerName } from './core/effects.ts';
export { PaxosNode, type NodeOptions } from './core/node.ts';
export { Acceptor } from './core/acceptor.ts';
export { Proposer } from './core/proposer.ts';
export { Learner } from './core/learner.ts';
export { Replica } from './core/replica.ts';
export { Client, type ClientEffect } from './core/client.ts';
export { SeededRng, type Rng } from './core/rng.ts';
export { NOOP, type Batch, type Command, type PValue } from './base/types.ts';
export type { Message, PeerMessage } from './messages/types.ts';
export { CodecError, decodeMessage, encodeMessage, batchDigest } from './messages/codec.ts';
export type { StateMachine } from './core/state-machine.ts';
export { KvStore, encodeKvOp, decodeKvResult, type KvOp, type KvResult } from './app/kv.ts';
export {
  PatchLedger,
  noBreakMarker,
  encodeLedgerOp,
  decodeLedgerResult,
  type LedgerCheck,
  type LedgerOp,
  type LedgerResult,
} from './app/patch-ledger.ts';
export { parsePatch, type Patch } from './app/patch.ts';
export type { Storage, PersistentState } from './core/storage.ts';
export { MemoryStorage } from './storage/memory.ts';
export { simulate, type SimOptions, type SimResult } from './sim/simulator.ts';
export { parseFaults, type FaultSpec } from './sim/faults.ts';
export { checkLinearizable, type HistoryOp } from './sim/linearizability.ts';
export { ManualNetwork, type InFlight, type NodeFactory } from './sim/manual-network.ts';
export { Tamper, type Adversary, type AdversaryContext } from './adversary/adversary.ts';
export { BUILT_IN_ADVERSARIES, adversaryNamed } from './adversary/strategies.ts';
export { ByzantineNode, type ByzantineNodeOptions } from './modes/byzantine/node.ts';
export { defaultByzantineConfig, type ByzantineConfig } from './modes/byzantine/config.ts';
export { Authenticator, signCommand } from './modes/byzantine/auth.ts';
export { clusterIdOf, validateCluster, type ClusterConfig } from './modes/byzantine/cluster.ts';
export type { Evidence, EvidenceKind, Suspicion } from './messages/evidence.ts';
export { verifyEvidence, type EvidenceVerdict } from './evidence/verify.ts';
export { analyse, accountabilityProblems, type AccountabilityClaim, type Culprit, type Forensics, type Transcript } from './evidence/forensics.ts';
export { decodeEvidenceFile, encodeEvidenceFile, decodeClusterFile, EVIDENCE_FORMAT, type EvidenceFile } from './evidence/file.ts';
export { frameType } from './messages/codec.ts';
