// The three modes (README "Status"). Below every other module, so that messages, storage and the
// cluster file can name a mode without importing the core.
export type Mode = 'crash' | 'byzantine' | 'commit-reveal';
/** Every mode, in the order tables and plots list them. */
export const MODES: readonly Mode[] = ['crash', 'byzantine', 'commit-reveal'];
