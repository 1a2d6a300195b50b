/**
 * Several processes on one database: the node-cluster preset's workers, or instances sharing a
 * data directory, coordinated through Redis (REDIS_URL).
 *
 * Events. Every process appends to the one `events` table; SQLite has a single writer, so seqs
 * are handed out and committed in the same order, and a row with a greater seq is never
 * visible before one with a smaller seq. Each process therefore keeps one number, the highest
 * seq it has handed to its listeners (`delivered`), and only ever moves it forward by reading
 * `seq > delivered` from the log. A local commit whose first seq is not `delivered + 1` first
 * reads and hands over what other processes committed in between. Redis notifications
 * (`<prefix>:events`, the last seq of a commit) and a slow poll only say "look now": a lost,
 * late or duplicated notification can delay an event but never reorder, skip or repeat it.
 *
 * Singletons. Jobs that must run once per deployment (Marcus connectors, the agent health
 * monitor) run on the holder of a Redis lock (`<prefix>:leader`, SET NX PX, renewed well
 * before it expires). A process that cannot renew in time stops its jobs before the lock
 * can pass to another; a leader that shuts down releases it and says so, so a follower takes
 * over at once. Without Redis the process is alone and always leads.
 */
import type { Statement } from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import type { Sqlite } from './db'
import type { StoredEvent } from './event-bus'
import type { ServiceState } from './health'

type EventRow = { seq: number, id: string, kind: string, project_id: string, ts: number, received_at: number, source: string, payload: string }

function toStored(r: EventRow): StoredEvent {
  let payload: Record<string, unknown>
  try {
    payload = JSON.parse(r.payload) as Record<string, unknown>
  }
  catch {
    payload = {}
  }
  return { seq: r.seq, id: r.id, kind: r.kind, projectId: r.project_id, ts: r.ts, receivedAt: r.received_at, source: r.source, payload, remote: true }
}

/** Rows read per step while catching up, so a large backlog does not hold the event loop. */
const CHUNK = 1000

/**
 * Hands the events of every process to this process's listeners, each once, in seq order.
 * Synchronous throughout (better-sqlite3), so nothing can interleave with a hand-over.
 */
export class EventFeed {
  delivered: number
  private readonly after: Statement
  private readonly between: Statement
  private scheduled = false

  constructor(readonly sqlite: Sqlite, private readonly deliver: (events: StoredEvent[]) => void) {
    const columns = 'seq, id, kind, project_id, ts, received_at, source, payload'
    this.after = sqlite.prepare(`SELECT ${columns} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
    this.between = sqlite.prepare(`SELECT ${columns} FROM events WHERE seq > ? AND seq < ? ORDER BY seq`)
    this.delivered = (sqlite.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get() as { n: number }).n
  }

  /** Events this process just committed (with what the projections derived). */
  committed(events: StoredEvent[]) {
    const first = events[0]!.seq
    if (first > this.delivered + 1) {
      // Other processes committed in between: theirs first, so the order has no hole.
      const rows = this.between.all(this.delivered, first) as EventRow[]
      if (rows.length) this.hand(rows.map(toStored))
    }
    const fresh = events[0]!.seq > this.delivered ? events : events.filter(e => e.seq > this.delivered)
    if (fresh.length) this.hand(fresh)
  }

  /** Reads and hands over everything newer than `delivered`, a chunk per turn of the event loop. */
  catchUp(): number {
    let handed = 0
    for (let i = 0; i < 5; i++) {
      const rows = this.after.all(this.delivered, CHUNK) as EventRow[]
      if (!rows.length) return handed
      this.hand(rows.map(toStored))
      handed += rows.length
      if (rows.length < CHUNK) return handed
    }
    this.wake()
    return handed
  }

  /** A hint that there is news (a notification, a timer): catch up soon, once. */
  wake() {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      // Closed meanwhile (shutdown): nobody is left to hand anything to.
      if (!this.sqlite.open) return
      try {
        this.catchUp()
      }
      catch (error) {
        console.error('[seneca] cluster: cannot read the event log', error)
      }
    })
  }

  private hand(events: StoredEvent[]) {
    this.delivered = events.at(-1)!.seq
    this.deliver(events)
  }
}

// ---------------------------------------------------------------------------------------
// Leader lock and singleton jobs

/** Stops a job; may return a promise. */
type Stop = () => unknown
type Job = { name: string, start: () => Stop | undefined, stop?: Stop, running: boolean }

const jobs: Job[] = []
let leading = true
/** Shutting down: never take the lead again (a leader leaving must not hand it to another leaver). */
let retiring = false

export function retire() {
  retiring = true
}

/** A name for this process in logs and in the lock (host:pid:random). */
export const processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`

/** Whether this process runs the deployment's singleton jobs (always, when it is alone). */
export function isLeader(): boolean {
  return leading
}

function startJob(job: Job) {
  if (job.running) return
  job.running = true
  try {
    job.stop = job.start()
  }
  catch (error) {
    console.error(`[seneca] cluster: cannot start ${job.name}`, error)
  }
}

async function stopJob(job: Job) {
  if (!job.running) return
  job.running = false
  const stop = job.stop
  job.stop = undefined
  try {
    await stop?.()
  }
  catch (error) {
    console.error(`[seneca] cluster: cannot stop ${job.name}`, error)
  }
}

/**
 * Runs `start` while this process leads (at once when it is alone) and the function it returns
 * when it stops leading or the server closes. Returns a function that stops and forgets the job.
 */
export function runAsLeader(name: string, start: () => Stop | undefined): () => Promise<void> {
  const job: Job = { name, start, running: false }
  jobs.push(job)
  if (leading) startJob(job)
  return async () => {
    const at = jobs.indexOf(job)
    if (at >= 0) jobs.splice(at, 1)
    await stopJob(job)
  }
}

async function setLeading(next: boolean) {
  if (next === leading) return
  leading = next
  if (next) for (const job of jobs) startJob(job)
  else await Promise.all(jobs.map(stopJob))
}

/** The states the leader shares with followers (`marcus`, `marcus_logs`, `mode`, …). */
const leaderChecks = new Map<string, () => ServiceState>()
let sharedStates: Record<string, ServiceState> = {}

/**
 * A health check of a singleton job: the leader answers from the job, a follower with what
 * the leader last shared (it has no connection of its own).
 */
export function leaderHealth(name: string, check: () => ServiceState): () => ServiceState {
  leaderChecks.set(name, check)
  return () => {
    if (leading) return check()
    return sharedStates[name] ?? { state: 'unknown (no leader yet)', status: 'degraded' }
  }
}

/** What the leader's jobs report, to store for the followers. */
export function leaderStates(): Record<string, ServiceState> {
  const out: Record<string, ServiceState> = {}
  for (const [name, check] of leaderChecks) {
    try {
      out[name] = check()
    }
    catch (error) {
      out[name] = `error: ${(error as Error).message}`
    }
  }
  return out
}

// Renew only if the lock is still ours, release only if it is still ours.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

export type CoordinatorOptions = {
  redis: Redis
  subscriber: Redis
  prefix: string
  feed: EventFeed
  /** Lock lifetime; renewed every third of it. */
  lockTtlMs?: number
  /** Catch-up poll, for notifications lost while Redis was away. */
  pollMs?: number
  /** A follower learns the leader's realtime mode (`live` while the leader's Marcus connection is). */
  onMode?: (mode: string) => void
  log?: (message: string, details?: Record<string, unknown>) => void
}

/** Redis side of the coordination: notifications, the leader lock, shared leader states. */
export class Coordinator {
  private readonly lockKey: string
  private readonly statesKey: string
  private readonly eventsChannel: string
  private readonly controlChannel: string
  private readonly ttl: number
  private timer: ReturnType<typeof setInterval> | undefined
  private pollTimer: ReturnType<typeof setInterval> | undefined
  /** Until when the lock is surely ours: the last successful renewal plus the TTL, minus a margin. */
  private heldUntil = 0
  private stopped = false
  private lastLeaderError = ''

  constructor(private readonly options: CoordinatorOptions) {
    this.lockKey = `${options.prefix}:leader`
    this.statesKey = `${options.prefix}:leader-states`
    this.eventsChannel = `${options.prefix}:events`
    this.controlChannel = `${options.prefix}:cluster`
    this.ttl = options.lockTtlMs ?? 10_000
  }

  start() {
    track(this)
    // Nobody leads until the lock says so.
    leading = false
    const { subscriber, feed } = this.options
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.eventsChannel) {
        if (Number(message) > feed.delivered) feed.wake()
      }
      else if (channel === this.controlChannel) {
        if (message === 'released' && !leading) void this.tick()
      }
    })
    subscriber.subscribe(this.eventsChannel, this.controlChannel).catch(() => { /* resubscribed on reconnect */ })
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.ttl / 3)))
    this.timer.unref()
    this.pollTimer = setInterval(() => feed.wake(), this.options.pollMs ?? 1000)
    this.pollTimer.unref()
    const { redis } = this.options
    if (redis.status === 'ready') void this.tick()
    else redis.once('ready', () => void this.tick())
  }

  /** After a local commit: wake the other processes. */
  notify(lastSeq: number) {
    this.options.redis.publish(this.eventsChannel, String(lastSeq)).catch(() => { /* they poll */ })
  }

  private async tick() {
    if (this.stopped) return
    const { redis } = this.options
    const started = Date.now()
    try {
      if (leading) {
        const renewed = await redis.eval(RENEW, 1, this.lockKey, processId, this.ttl) as number
        if (renewed === 1) {
          this.heldUntil = started + this.ttl - 1000
          await redis.set(this.statesKey, JSON.stringify(leaderStates()), 'PX', this.ttl)
        }
        else {
          this.options.log?.('cluster: lost the leader lock; stopping singleton jobs', { process: processId })
          await setLeading(false)
        }
      }
      else {
        const got = retiring ? null : await redis.set(this.lockKey, processId, 'PX', this.ttl, 'NX')
        if (got === 'OK' && !this.stopped) {
          this.heldUntil = started + this.ttl - 1000
          this.options.log?.('cluster: leader; starting singleton jobs', { process: processId })
          await setLeading(true)
          await redis.set(this.statesKey, JSON.stringify(leaderStates()), 'PX', this.ttl)
        }
        else {
          const raw = await redis.get(this.statesKey)
          if (raw) {
            const before = sharedStates.mode
            sharedStates = JSON.parse(raw) as Record<string, ServiceState>
            if (sharedStates.mode !== undefined && sharedStates.mode !== before) this.options.onMode?.(String(sharedStates.mode))
          }
        }
      }
      this.lastLeaderError = ''
    }
    catch (error) {
      const message = (error as Error).message
      if (message !== this.lastLeaderError) this.options.log?.('cluster: Redis unavailable for the leader lock', { error: message })
      this.lastLeaderError = message
      // Stop before the lock can expire and pass to someone else.
      if (leading && Date.now() > this.heldUntil) await setLeading(false)
    }
  }

  role(): string {
    return leading ? 'leader' : 'follower'
  }

  /** Stops the singleton jobs and hands the lock over at once. */
  async stop() {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.pollTimer) clearInterval(this.pollTimer)
    const wasLeading = leading
    await setLeading(false)
    if (wasLeading) {
      try {
        await this.options.redis.eval(RELEASE, 1, this.lockKey, processId)
        await this.options.redis.publish(this.controlChannel, 'released')
      }
      catch { /* it expires by itself */ }
    }
  }
}

let active: Coordinator | undefined

function track(coordinator: Coordinator) {
  active = coordinator
}

/**
 * Shutdown: stops the singleton jobs (so nothing ingests any more) and, when leading, hands the
 * lock to another process at once.
 */
export async function stepDown() {
  if (active) await active.stop()
  else await Promise.all(jobs.map(stopJob))
}

/** Why the cluster preset will not start without Redis (shared by the primary and the workers). */
export const CLUSTER_NEEDS_REDIS = 'the node-cluster build runs several worker processes, which must share realtime events, rate limits, the cache and one Marcus connector through Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379), or run the node-server build for a single process'
