// Every experiment `byzpaxos experiment NAME` runs, by name.
import { attackExperiment } from './attack.ts';
import { detectionExperiment } from './detection.ts';
import type { Experiment } from './experiment.ts';
import { faultsExperiment } from './faults.ts';
import { loadExperiment } from './load.ts';
import { overheadExperiment } from './overhead.ts';
import { scalingExperiment } from './scaling.ts';

export const EXPERIMENTS: readonly Experiment[] = [scalingExperiment, attackExperiment, faultsExperiment, loadExperiment, overheadExperiment, detectionExperiment];

export function experimentNamed(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
