// CPU time and resident memory of another process, read from Linux's /proc: what a benchmark
// charges to the member processes it started. Elsewhere (no /proc, or the process is gone) the
// answer is null, never a guess.
import { readFileSync } from 'node:fs';

/** /proc reports CPU times in USER_HZ ticks, which Linux fixes at 100 a second for user space. */
const USER_HZ = 100;
/** utime and stime are fields 14 and 15 of /proc/PID/stat; counted after the ')' closing comm, they are the 12th and 13th. */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;

export interface ProcUsage {
  /** User + system CPU time since the process started, ms. */
  readonly cpuMs: number;
  /** Resident set size now (VmRSS), bytes. */
  readonly rssBytes: number;
}

export function procUsage(pid: number): ProcUsage | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) is in parentheses and may itself hold spaces or parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[UTIME_AFTER_COMM]) + Number(fields[STIME_AFTER_COMM]);
    const rssKb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (!Number.isFinite(ticks) || rssKb === undefined) return null;
    return { cpuMs: (ticks * 1000) / USER_HZ, rssBytes: Number(rssKb) * 1024 };
  } catch {
    return null;
  }
}
