// Metrics of the process a member runs in, read at scrape time: event-loop delay, heap, resident
// memory, and time spent in garbage collection. Named like prom-client's defaults (nodejs_*,
// process_*) so existing dashboards read them.
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { LATENCY_BUCKETS_SECONDS, type MetricsRegistry } from './metrics.ts';

/** Resolution of the event-loop delay sampler, ms. */
const EVENT_LOOP_RESOLUTION_MS = 10;
const NS_PER_SECOND = 1e9;
const MS_PER_SECOND = 1000;

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Registers the process metrics in `registry`; returns the function that stops their samplers. */
export function registerProcessMetrics(registry: MetricsRegistry): () => void {
  const loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const lagP99 = registry.gauge('nodejs_eventloop_lag_p99_seconds', 'Event-loop delay, 99th percentile since the last scrape.');
  const lagMax = registry.gauge('nodejs_eventloop_lag_max_seconds', 'Event-loop delay, maximum since the last scrape.');
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use.');
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved.');
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory of the process.');
  const cpu = registry.counter('process_cpu_seconds_total', 'User and system CPU time of the process.');
  const gc = registry.histogram('nodejs_gc_duration_seconds', 'Garbage-collection pauses.', LATENCY_BUCKETS_SECONDS);
  const gcByKind = registry.counter('nodejs_gc_seconds_total', 'Time in garbage collection, by kind.', ['kind']);
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const seconds = entry.duration / MS_PER_SECOND;
      gc.observe(seconds);
      const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | null | undefined)?.kind;
      gcByKind.inc({ kind: (kind !== undefined ? GC_KINDS[kind] : undefined) ?? 'other' }, seconds);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const stopCollecting = registry.onCollect(() => {
    lagP99.set(loopDelay.percentile(99) / NS_PER_SECOND);
    lagMax.set(loopDelay.max / NS_PER_SECOND);
    loopDelay.reset();
    const memory = process.memoryUsage();
    heapUsed.set(memory.heapUsed);
    heapTotal.set(memory.heapTotal);
    rss.set(memory.rss);
    const usage = process.cpuUsage();
    cpu.advanceTo((usage.user + usage.system) / 1e6);
  });
  return () => {
    stopCollecting();
    observer.disconnect();
    loopDelay.disable();
  };
}
