// Sweep 5 (see sweep-helpers.ts).
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { describeSweep } from './sweep-helpers.ts';

describeSweep(5, 'commit-reveal', BUILT_IN_ADVERSARIES.slice(10, 14));
