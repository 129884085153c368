// Sweep 2 (see sweep-helpers.ts).
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { describeSweep } from './sweep-helpers.ts';

describeSweep(2, 'byzantine', BUILT_IN_ADVERSARIES.slice(5, 9));
