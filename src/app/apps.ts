// The replicated applications a deployment may run, by the name its cluster.json gives. Every
// member of a cluster must run the same one: the application decides which ops are valid.
import type { StateMachine } from '../core/state-machine.ts';
import { KvStore } from './kv.ts';
import { PatchLedger } from './patch-ledger.ts';

/** Makes each node's replicated application. */
export type AppFactory = () => StateMachine;

export const APP_NAMES = ['kv', 'patch-ledger'] as const;
export type AppName = (typeof APP_NAMES)[number];

/** The default application: the key-value store, which accepts every op. */
export const kvApp: AppFactory = () => new KvStore();

export const APPS: Readonly<Record<AppName, AppFactory>> = {
  kv: kvApp,
  'patch-ledger': () => new PatchLedger(),
};
