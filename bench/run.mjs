#!/usr/bin/env node
/**
 * Runs the benchmarks in sequence, each in its own process, and prints one combined JSON
 * object: `node bench/run.mjs [ingest] [reads] [backfill] [websocket]` (all when none is named).
 * Progress goes to stderr; a benchmark that crashes is reported with its exit code.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { log, machine, repoRoot, report } from './lib.mjs'

const ALL = ['ingest', 'reads', 'backfill', 'websocket', 'gateway', 'agents', 'cluster', 'costs', 'insights', 'retention', 'dashboard']
const names = process.argv.slice(2)
const unknown = names.filter(n => !ALL.includes(n))
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`)
  process.exit(2)
}
const selected = names.length ? ALL.filter(n => names.includes(n)) : ALL

/** Each benchmark bounds itself; this is a last resort against a hung child. */
const HARD_LIMIT_MS = Number(process.env.BENCH_RUN_TIMEOUT_S || 1800) * 1000

function runOne(name) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [join(repoRoot, 'bench', `${name}.mjs`)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env })
    let stdout = ''
    child.stdout.on('data', d => (stdout += d))
    const timer = setTimeout(() => child.kill('SIGTERM'), HARD_LIMIT_MS)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const seconds = Math.round((performance.now() - t0) / 100) / 10
      try {
        resolve({ ...JSON.parse(stdout), wall_s: seconds, exit_code: code })
      }
      catch {
        resolve({ benchmark: name, error: `exited with ${code ?? signal} and no JSON report`, stdout_tail: stdout.slice(-2000), wall_s: seconds, exit_code: code })
      }
    })
  })
}

const results = {}
for (const name of selected) {
  log(`=== ${name} ===`)
  results[name] = await runOne(name)
}
const summary = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.error ? 'error' : r.passed ? 'passed' : (r.complete === false ? 'incomplete' : 'failed')]))
report({
  started_by: 'bench/run.mjs',
  finished_at: new Date().toISOString(),
  ...machine(),
  summary,
  all_passed: Object.values(summary).every(s => s === 'passed'),
  results,
})
// BENCH_STRICT=1: a missed target fails the command (for CI).
if (process.env.BENCH_STRICT === '1' && !Object.values(summary).every(s => s === 'passed')) process.exitCode = 1
