/**
 * Graceful shutdown (SIGTERM, SIGINT): stop accepting, let in-flight requests — ingests above
 * all — finish, tell realtime clients `server_restarting` so they reconnect and resume, stop
 * the singleton jobs, close (the database checkpoints its WAL), exit; all within
 * SENECA_SHUTDOWN_TIMEOUT_MS (10 s), after which the process exits anyway. An ingest is
 * acknowledged only after its transaction committed, so nothing acknowledged is lost.
 */
import type { Server } from 'node:http'
import { closeCodes } from '../../shared/realtime'
import { retire, stepDown } from './cluster'
import { useConfig } from './config'
import { useRealtimeHub } from './realtime'

/** How long clients are asked to wait before reconnecting or retrying. */
export const RETRY_AFTER_S = 2

let draining = false
let inFlight = 0
let server: Server | undefined

export function isDraining(): boolean {
  return draining
}

/** The HTTP server, once known (from the first request): closing it stops new connections. */
export function noteServer(candidate: Server | null | undefined) {
  if (!server && candidate) server = candidate
}

export function requestStarted(): () => void {
  inFlight++
  let done = false
  return () => {
    if (done) return
    done = true
    inFlight--
  }
}

export function inFlightRequests(): number {
  return inFlight
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

export type ShutdownSteps = {
  /** Runs the server's close hooks (database, Redis, logger). */
  close: () => Promise<void>
  log: (message: string, details?: Record<string, unknown>) => void
}

/** Drains and exits. Idempotent: a second signal does not restart the sequence. */
export async function shutdown(signal: string, steps: ShutdownSteps): Promise<void> {
  if (draining) return
  draining = true
  retire()
  const started = Date.now()
  const budget = useConfig().shutdownTimeoutMs
  // Whatever happens below, the process is gone within the budget.
  const hardStop = setTimeout(() => {
    steps.log('shutdown: time is up, exiting now', { in_flight: inFlight })
    process.exit(1)
  }, budget - 100)
  steps.log('shutdown: draining', { signal, in_flight: inFlight, timeout_ms: budget })

  // 1. No new connections; idle keep-alive ones go, busy ones get `Connection: close`.
  server?.close()
  server?.closeIdleConnections?.()

  // 2. Realtime clients get what the batch windows hold, then the notice, then a close.
  const hub = useRealtimeHub()
  const connections = hub.connectionCount()
  try {
    hub.flushPending()
    hub.broadcastControl('server_restarting', { reason: 'shutdown', latest_seq: hub.latestSeq, retry_after_ms: RETRY_AFTER_S * 1000, server_time: new Date().toISOString() })
  }
  catch (error) {
    steps.log('shutdown: cannot notify realtime clients', { error: (error as Error).message })
  }
  // A moment for the notices to be written out before the sockets start closing.
  await sleep(50)
  hub.stop(closeCodes.serviceRestart, 'server restarting: reconnect with since_seq')

  // 3. In-flight requests finish (their ingests commit and are answered).
  const requestsBy = started + budget - 3000
  while (inFlight > 0 && Date.now() < requestsBy) await sleep(10)
  const unfinished = inFlight

  // 4. Singleton jobs stop (the Marcus tailer is the other source of ingests); the lock passes on.
  await Promise.race([stepDown(), sleep(Math.max(0, started + budget - 1500 - Date.now()))])

  // 5. Close hooks: database (WAL checkpoint), Redis, logs (flushed there, so this line goes first).
  steps.log('shutdown: drained, closing', { ms: Date.now() - started, realtime_connections: connections, unfinished_requests: unfinished })
  await Promise.race([steps.close(), sleep(Math.max(0, started + budget - 300 - Date.now()))])
  clearTimeout(hardStop)
  process.exit(unfinished ? 1 : 0)
}
