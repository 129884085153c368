// The application of the validated-proposal tests (test/core, test/modes, test/sim): the
// key-value store with a predicate, so the tests exercise the rule without the patch ledger's codec.
import { decodeKvOp, KvStore } from '../../src/app/kv.ts';

/** What RefusingKv refuses: the patch ledger's content rule (src/app/patch-ledger.ts), on values. */
export const REFUSED_MARK = 'TODO-BREAK';

/** The key-value predicate of validated-proposal tests: no put or cas value holding REFUSED_MARK. */
export function validKvOp(op: Uint8Array): boolean {
  try {
    const kv = decodeKvOp(op);
    return kv.type === 'get' || kv.type === 'delete' || !kv.value.includes(REFUSED_MARK);
  } catch {
    // Malformed ops are apply's to answer (an error result): they break nothing.
    return true;
  }
}

/** The key-value store with validKvOp as its application predicate (StateMachine.validate). */
export class RefusingKv extends KvStore {
  validate(op: Uint8Array): boolean {
    return validKvOp(op);
  }
}
