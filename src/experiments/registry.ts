// Every experiment `byzpaxos experiment NAME` runs, by name.
import { detectionExperiment } from './detection.ts';
import type { Experiment } from './experiment.ts';
import { overheadExperiment } from './overhead.ts';

export const EXPERIMENTS: readonly Experiment[] = [overheadExperiment, detectionExperiment];

export function experimentNamed(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
