// Sweep 3 (see sweep-helpers.ts).
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { describeSweep } from './sweep-helpers.ts';

describeSweep(3, 'commit-reveal', BUILT_IN_ADVERSARIES.slice(0, 5));
