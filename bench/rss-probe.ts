/**
 * Preloaded into the measured node process (`node --import …/rss-probe.js`): at exit it writes the
 * process's own peak resident set size (getrusage RUSAGE_SELF: children such as pg_dump are not in it)
 * to the file named by BENCH_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKiB: usage.maxRSS, userCpuUs: usage.userCPUTime, systemCpuUs: usage.systemCPUTime }));
  });
}
