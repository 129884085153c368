// Sweep 8: colluding pairs at f=2 (see sweep-helpers.ts).
import { describePairSweep } from './sweep-helpers.ts';

describePairSweep(8);
