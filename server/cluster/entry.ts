/**
 * Entry of the node-cluster build (NITRO_PRESET=node-cluster), in place of Nitro's own, which
 * would fork workers without Redis and re-fork a refusing worker forever, and on SIGTERM waits
 * for workers without telling them to stop. Here the primary:
 * - refuses to start without REDIS_URL (workers must share state through it);
 * - forks NITRO_CLUSTER_WORKERS workers (default: one per core), each Nitro's node-server;
 * - replaces a worker that dies, backing off while they keep dying at start, and stops with
 *   the worker's code when one refuses its configuration (exit 78);
 * - on SIGTERM/SIGINT passes SIGTERM to every worker, which drains (server/utils/shutdown.ts),
 *   and exits once they have, within SENECA_SHUTDOWN_TIMEOUT_MS plus a second.
 */
import cluster, { type Worker } from 'node:cluster'
import os from 'node:os'

// Spelled out here rather than imported: the primary must not load the server's modules.
const CLUSTER_NEEDS_REDIS = 'the node-cluster build runs several worker processes, which must share realtime events, rate limits, the cache and one Marcus connector through Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379), or run the node-server build for a single process'

/** A worker's "configuration is wrong" exit (EX_CONFIG): retrying cannot help. */
const EX_CONFIG = 78

function runPrimary() {
  if (!process.env.REDIS_URL) {
    console.error(`[seneca] cannot start: ${CLUSTER_NEEDS_REDIS}`)
    process.exit(EX_CONFIG)
  }
  const count = Number.parseInt(process.env.NITRO_CLUSTER_WORKERS || '', 10) || os.availableParallelism?.() || os.cpus().length || 1
  const budget = Number(process.env.SENECA_SHUTDOWN_TIMEOUT_MS) || 10_000
  const bornAt = new Map<number, number>()
  let stopping = false
  let backoffMs = 0

  const fork = () => {
    const worker = cluster.fork()
    bornAt.set(worker.id, Date.now())
  }
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead())

  console.log(`[seneca] cluster primary ${process.pid}: starting ${count} worker${count === 1 ? '' : 's'}`)
  for (let i = 0; i < count; i++) fork()

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (bornAt.get(worker.id) ?? 0)
    bornAt.delete(worker.id)
    if (stopping) {
      if (alive().length === 0) process.exit(0)
      return
    }
    if (code === EX_CONFIG) {
      console.error(`[seneca] worker ${worker.process.pid} refused to start (exit ${EX_CONFIG}, see above); stopping the cluster`)
      stopping = true
      for (const w of alive()) w.process.kill('SIGTERM')
      setTimeout(() => process.exit(EX_CONFIG), budget).unref()
      if (alive().length === 0) process.exit(EX_CONFIG)
      return
    }
    // A worker that dies at start would otherwise be re-forked in a tight loop.
    backoffMs = lived < 5000 ? Math.min(Math.max(backoffMs * 2, 250), 30_000) : 0
    console.error(`[seneca] worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another${backoffMs ? ` in ${backoffMs} ms` : ''}`)
    setTimeout(() => {
      if (!stopping) fork()
    }, backoffMs)
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    console.log(`[seneca] cluster primary: ${signal}, draining ${alive().length} workers`)
    for (const w of alive()) w.process.kill('SIGTERM')
    if (alive().length === 0) process.exit(0)
    setTimeout(() => {
      const left = alive()
      console.error(`[seneca] cluster primary: ${left.length} workers still running after ${budget} ms; killing them`)
      for (const w of left) w.process.kill('SIGKILL')
      process.exit(1)
    }, budget + 1000)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

if (cluster.isPrimary) runPrimary()
else {
  import('nitropack/presets/node/runtime/node-server').catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
