// The one reading of the core's effects that every driver in src/sim/ shares (the simulator's
// members and the hand-driven network): each driver says what every effect type does to it, so a
// new effect type fails to compile until each driver handles it.
import type { Effect } from '../core/effects.ts';

/** What a driver does for each effect type; `context` is whatever it passes along (the node the effect is from). */
export type EffectHandlers<C> = {
  readonly [T in Effect['type']]: (effect: Extract<Effect, { readonly type: T }>, context: C) => void;
};

export function interpret<C>(effect: Effect, context: C, handlers: EffectHandlers<C>): void {
  switch (effect.type) {
    case 'persist':
      return handlers.persist(effect, context);
    case 'send':
      return handlers.send(effect, context);
    case 'broadcast':
      return handlers.broadcast(effect, context);
    case 'reply':
      return handlers.reply(effect, context);
    case 'decide':
      return handlers.decide(effect, context);
    case 'execute':
      return handlers.execute(effect, context);
    case 'evidence':
      return handlers.evidence(effect, context);
    case 'suspicion':
      return handlers.suspicion(effect, context);
    case 'setTimer':
      return handlers.setTimer(effect, context);
    case 'clearTimer':
      return handlers.clearTimer(effect, context);
    default:
      return unknownEffect(effect);
  }
}

/** Compiles only while the switch above covers every effect type. */
function unknownEffect(effect: never): never {
  throw new TypeError(`interpret: unknown effect ${JSON.stringify((effect as { type?: unknown }).type)}`);
}
