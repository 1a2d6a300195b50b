/**
 * The realtime hub (ARCHITECTURE §6): every WebSocket and SSE client, its subscriptions, and
 * the fan-out of stored events to them. Nitro 2 has no server-side publish, so the hub keeps
 * its own registry of peers.
 *
 * Shape of the fan-out, chosen for 1,000 clients × thousands of events per second:
 * - each stored event is mapped once to its outgoing event(s) and serialised once;
 * - peers with the same principal scope and subscriptions form a group; an event is matched
 *   once per group, and a group's frame is built once and handed as the same Buffer to every
 *   member (the socket writes it without copying);
 * - frames coalesce: the first event after a quiet spell goes out at once, later ones within
 *   the batch window leave together in one `batch`. The window is 100 ms while a group is busy
 *   (≥ 500 events/s) or the process is short of CPU (event-loop utilisation); while light it is as
 *   short as the group's size allows (20 ms, up to 50 ms for 1,000 members), because latency
 *   then matters more than the number of sends;
 * - every peer remembers the last seq it was sent (`lastSentSeq`), which makes the seams of a
 *   resume (replay from the events table, then live) and of a subscription change exact:
 *   nothing twice, nothing skipped;
 * - a client that reads too slowly fills a bounded send buffer and is told to resync, never
 *   held in unbounded memory.
 *
 * The hub sits behind `publish / attach / detach / receive`, so a Redis adapter for several
 * instances can feed `publish` from a channel instead of the local event bus.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { type EventLoopUtilization, performance } from 'node:perf_hooks'
import { type H3Event, getRequestURL } from 'h3'
import type { z } from 'zod'
import {
  type ClientEventName, type ClientMessage, type ConnectionEstablished, type ControlData,
  type PresenceUpdate, type PresenceViewer, type RealtimeChannel, type RealtimeMode, type SubscriptionFilters,
  clientEnvelope, clientMessages, closeCodes, realtimeChannels, requestDataParameters,
} from '../../shared/realtime'
import { listAgents } from './agents'
import { type Principal, AuthError, authenticate, canUseProject, mintToken, projectScope } from './auth'
import { issueAgentCommand, updateCommandStatus } from './commands'
import { getConversation, listMessages } from './conversations'
import { type Sqlite, useDatabase } from './db'
import { apiError } from './errors'
import type { StoredEvent } from './event-bus'
import {
  type OutgoingEvent, type RealtimeFilter, RealtimeLookups, compileRealtimeFilter, encodeControlMessage, encodeLogEvents,
  realtimeFilterKey, realtimeFilterMatches, toOutgoingEvents,
} from './realtime-protocol'
import { SharedFrame, negotiatedWindowBits } from './realtime-frames'
import { reportStageProgress } from './stage-progress'

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null)

// ---------------------------------------------------------------------------------------
// Configuration

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
  return n
}

export type RealtimeConfig = ReturnType<typeof readRealtimeConfig>

export function readRealtimeConfig() {
  return {
    /** Open connections (WebSocket and SSE) per server; more are refused (HTTP 503 / close 1013). */
    maxConnections: envNumber('SENECA_WS_MAX_CONNECTIONS', 1000),
    /** A resume further back than this many events gets `resync_required` instead of a replay. */
    replayMax: envNumber('SENECA_WS_REPLAY_MAX', 10_000),
    /** Bytes queued for one client before it is told to resync and closed. */
    maxBufferBytes: envNumber('SENECA_WS_MAX_BUFFER_BYTES', 4 * 1024 * 1024),
    /** The batch window while a subscription group is busy. */
    batchMs: envNumber('SENECA_WS_BATCH_MS', 100),
    /**
     * The shortest batch window, while traffic is light and latency matters more than frame
     * count. A large group gets a longer one (see `sendBudget`), never longer than `batchMs`.
     */
    lightBatchMs: envNumber('SENECA_WS_LIGHT_BATCH_MS', 20),
    /**
     * Sends per second one group may cost while light: 1,000 members → a 50 ms window. A send
     * costs ~13–18 µs of kernel time on loopback, so a light group stays under a third of a core;
     * while fewer events than one per window arrive, it costs no more than sending each at once.
     */
    sendBudget: envNumber('SENECA_WS_SEND_BUDGET', 20_000),
    /**
     * Longest stretch of socket writes (ms) before the hub lets the event loop run: a write
     * costs ~13 µs of kernel time on loopback, so 1,000 members block the process for ~15 ms,
     * which requests (a heartbeat, an ingest) would otherwise wait out.
     */
    flushSliceMs: envNumber('SENECA_WS_FLUSH_SLICE_MS', 3),
    /**
     * Event-loop utilisation (0..1, over the last second) above which every group gets the
     * full batch window: the process is short of CPU, and fewer, larger frames cost less.
     * (Not the event-loop delay: a flush to 1,000 clients blocks for ~20 ms by itself.)
     */
    overloadUtilisation: envNumber('SENECA_WS_OVERLOAD_ELU', 0.8),
    /** Events per second to a group above which it counts as busy. */
    busyEventsPerSecond: envNumber('SENECA_WS_BUSY_RATE', 500),
    /** WebSocket ping interval; a connection silent for two intervals is dropped. */
    pingMs: envNumber('SENECA_WS_PING_MS', 10_000),
    /** Time for an unauthenticated connection to send `auth`. */
    authTimeoutMs: envNumber('SENECA_WS_AUTH_TIMEOUT_MS', 5000),
    /** Inbound messages per second per client. */
    rateLimit: envNumber('SENECA_WS_RATE_LIMIT', 100),
    /** Inbound message size. */
    maxMessageBytes: envNumber('SENECA_WS_MAX_MESSAGE_BYTES', 64 * 1024),
  }
}

// ---------------------------------------------------------------------------------------
// Mode: live while a Marcus connection is live

let mode: RealtimeMode = 'historical'

/** `historical` until a Marcus connector reports a live connection (there is none yet). */
export function realtimeMode(): RealtimeMode {
  return mode
}

/** For the Marcus connector: announces the change to every connected client (`mode_update`). */
export function setRealtimeMode(next: RealtimeMode) {
  if (next === mode) return
  mode = next
  hub?.broadcastControl('mode_update', { mode, server_time: new Date().toISOString() })
}

// ---------------------------------------------------------------------------------------
// Connections and peers

/** What the hub needs from a transport (a crossws peer, an SSE response). */
export interface RealtimeConnection {
  readonly kind: 'ws' | 'sse'
  /** A complete frame: JSON text for WebSockets, `id:/event:/data:` blocks for SSE. */
  send(frame: Buffer): void
  /**
   * A WebSocket text message shared by many peers (a group's frame): the transport picks the
   * encoding the peer negotiated (compressed once for all). Without it, `send(frame.text)`.
   */
  sendShared?(frame: SharedFrame): void
  /** Bytes queued in user space and the socket, not yet taken by the client. */
  bufferedAmount(): number
  close(code: number, reason: string): void
  terminate(): void
  /** A protocol-level ping (WebSocket); the transport reports pongs with `hub.touch`. */
  ping?(): void
}

type PeerState = 'authenticating' | 'open' | 'replaying' | 'closed'

export class RealtimePeer {
  readonly sessionId = `sess_${randomUUID().replaceAll('-', '').slice(0, 20)}`
  principal: Principal | undefined
  state: PeerState = 'authenticating'
  readonly subs = new Map<RealtimeChannel, RealtimeFilter>()
  group: Group | undefined
  /** Every event up to this seq has been considered for (and if matching, sent to) this peer. */
  lastSentSeq = 0
  /** A resume point given before any subscription (`?since_seq=`): replayed at the first subscribe. */
  pendingResume: number | undefined
  /** Events published while a replay runs, delivered after it. */
  liveBuffer: OutgoingEvent[][] | undefined
  /** Presence scopes (`project:<id>`, `conversation:<id>`) the client declared with `view`. */
  readonly presence = new Set<string>()
  lastSeenAt = Date.now()
  /** Bytes queued at the last heartbeat: a queue that shrinks shows a client that reads. */
  lastBuffered = 0
  rateWindowStart = 0
  rateCount = 0
  rateNotified = false
  authTimer: ReturnType<typeof setTimeout> | undefined
  inbox: string[] | undefined
  closeTimer: ReturnType<typeof setTimeout> | undefined

  constructor(readonly conn: RealtimeConnection) {}

  matches(out: OutgoingEvent, look: RealtimeLookups): boolean {
    if (!this.principal || !canUseProject(this.principal, out.projectId)) return false
    const filter = this.subs.get(out.channel)
    return filter !== undefined && realtimeFilterMatches(filter, out, look)
  }
}

// ---------------------------------------------------------------------------------------
// Groups: peers with equal scope and subscriptions share matching and frames

/** A group's frame on its way to the members, written a slice at a time. */
type InFlight = {
  outs: OutgoingEvent[]
  first: number
  last: number
  includeMetadata: boolean
  members: RealtimePeer[]
  next: number
  wsFrame?: SharedFrame
  sseFrame?: Buffer
}

class Group {
  readonly members = new Set<RealtimePeer>()
  pending: OutgoingEvent[] = []
  /** The frame being written (sliced); the next flush waits for it. */
  inFlight: InFlight | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  lastFlushAt = 0
  /** Events per second arriving for this group, over one-second buckets. */
  rateBucketStart = 0
  rateBucket = 0
  lastRate = 0

  constructor(readonly key: string, readonly principal: Principal, readonly subs: Map<RealtimeChannel, RealtimeFilter>) {}

  matches(out: OutgoingEvent, look: RealtimeLookups): boolean {
    if (!canUseProject(this.principal, out.projectId)) return false
    const filter = this.subs.get(out.channel)
    return filter !== undefined && realtimeFilterMatches(filter, out, look)
  }

  get includeMetadata(): boolean {
    return this.subs.get('conversations')?.includeMetadata ?? true
  }

  countEvents(n: number, now: number) {
    if (now - this.rateBucketStart >= 1000) {
      this.lastRate = now - this.rateBucketStart < 2000 ? this.rateBucket : 0
      this.rateBucketStart = now
      this.rateBucket = 0
    }
    this.rateBucket += n
  }
}

function groupKey(peer: RealtimePeer): string {
  const scope = peer.principal!.projects === '*' ? '*' : [...peer.principal!.projects].sort().join('\u0000')
  const subs = [...peer.subs.entries()].map(([c, f]) => `${c}=${realtimeFilterKey(f.source)}`).sort().join('&')
  return `${scope}|${subs}`
}

// ---------------------------------------------------------------------------------------
// Errors the hub answers with

export class RealtimeError extends Error {
  constructor(readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message)
  }
}

function asRealtimeError(error: unknown): RealtimeError {
  if (error instanceof RealtimeError) return error
  // apiError() from domain code: an H3Error carrying {code, details} in its data.
  const data = (error as { data?: { code?: unknown, details?: unknown } }).data
  if (data && typeof data.code === 'string') {
    return new RealtimeError(data.code, (error as Error).message, (data.details ?? undefined) as Record<string, unknown> | undefined)
  }
  console.error('[seneca] realtime handler failed', error)
  return new RealtimeError('INTERNAL_ERROR', 'Internal error')
}

function validationError(error: z.ZodError, what: string): RealtimeError {
  const issues = error.issues.slice(0, 10).map(i => ({ path: i.path.join('.'), message: i.message }))
  return new RealtimeError('VALIDATION_FAILED', `Invalid ${what}: ${issues.map(i => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues })
}

// ---------------------------------------------------------------------------------------
// The hub

type PresenceScope = {
  members: Set<RealtimePeer>
  /** Changes not yet announced. */
  joined: PresenceViewer[]
  left: PresenceViewer[]
  lastSentAt: number
  timer: ReturnType<typeof setTimeout> | undefined
}

/** Presence updates per scope coalesce within this window. */
const PRESENCE_WINDOW_MS = 250
/** Viewers listed in one update (`viewer_count` has the total). */
const PRESENCE_LIST_MAX = 100

/** Recent outgoing events, for `estimated_message_rate`. */
const RATE_WINDOW_MS = 60_000
const RATE_SAMPLE_MAX = 5000
/** Events per replay query and frame. */
const REPLAY_CHUNK = 500

export type AttachOptions = {
  principal?: Principal
  /** Why the credential given with the upgrade was refused. */
  authError?: string
  sinceSeq?: number
}

export class RealtimeHub {
  readonly config: RealtimeConfig
  private readonly peers = new Set<RealtimePeer>()
  private readonly groups = new Map<string, Group>()
  /** Peers replaying: live events are held for them until the replay is done. */
  private readonly buffering = new Set<RealtimePeer>()
  private readonly presenceScopes = new Map<string, PresenceScope>()
  private readonly recent: { at: number, out: OutgoingEvent }[] = []
  private recentNext = 0
  /** Events published while no one could receive them, oldest first, mapped when a rate is asked for. */
  private unmapped: { at: number, ev: StoredEvent }[] = []
  private readonly startedAt = Date.now()
  private lookups: RealtimeLookups | undefined
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  private loadTimer: ReturnType<typeof setInterval> | undefined
  private lastUtilisation: EventLoopUtilization | undefined
  /** The event loop lagged in the last second: batch at the full window. */
  overloaded = false
  private readonly deliveredCommands = new Set<string>()
  latestSeq = 0

  constructor(config: Partial<RealtimeConfig> = {}) {
    this.config = { ...readRealtimeConfig(), ...config }
  }

  private look(): RealtimeLookups {
    const { sqlite } = useDatabase()
    if (!this.lookups || this.lookups.sqlite !== sqlite) {
      this.lookups = new RealtimeLookups(sqlite)
      this.latestSeq = Math.max(this.latestSeq, this.lookups.maxSeq())
    }
    return this.lookups
  }

  /** Starts the heartbeat (ping every `pingMs`, drop connections silent for two intervals). */
  start() {
    this.look()
    if (!this.loadTimer) {
      this.lastUtilisation = performance.eventLoopUtilization()
      this.loadTimer = setInterval(() => {
        const now = performance.eventLoopUtilization()
        this.overloaded = performance.eventLoopUtilization(now, this.lastUtilisation).utilization > this.config.overloadUtilisation
        this.lastUtilisation = now
      }, 1000)
      this.loadTimer.unref()
    }
    if (this.heartbeatTimer || !this.config.pingMs) return
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.config.pingMs)
    this.heartbeatTimer.unref()
  }

  /** Closes every connection (server shutdown). */
  stop(code: number = closeCodes.goingAway, reason = 'server shutting down') {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = undefined
    if (this.loadTimer) clearInterval(this.loadTimer)
    this.loadTimer = undefined
    for (const peer of [...this.peers]) {
      peer.conn.close(code, reason)
      this.detach(peer)
    }
  }

  /** Sends what the batch windows hold now (before a shutdown notice, so it follows them). */
  flushPending() {
    for (const group of this.groups.values()) {
      if (group.timer) clearTimeout(group.timer)
      group.timer = undefined
      if (group.inFlight) this.writeSlice(group, group.inFlight, Number.POSITIVE_INFINITY)
      this.flush(group)
      if (group.inFlight) this.writeSlice(group, group.inFlight, Number.POSITIVE_INFINITY)
    }
  }

  connectionCount(): number {
    return this.peers.size
  }

  stats() {
    return { connections: this.peers.size, groups: this.groups.size, replaying: this.buffering.size, latest_seq: this.latestSeq, overloaded: this.overloaded }
  }

  // -------------------------------------------------------------------------------------
  // Connections

  /** A new connection: authenticated by the upgrade, or given `authTimeoutMs` to send `auth`. */
  attach(conn: RealtimeConnection, options: AttachOptions = {}): RealtimePeer {
    const peer = new RealtimePeer(conn)
    this.peers.add(peer)
    if (this.peers.size > this.config.maxConnections) {
      this.refuse(peer, closeCodes.tryAgainLater, 'server full: too many connections, retry later')
      return peer
    }
    if (options.sinceSeq !== undefined) peer.pendingResume = options.sinceSeq
    if (options.authError) {
      this.sendError(peer, new RealtimeError('UNAUTHORIZED', options.authError))
      this.refuse(peer, closeCodes.unauthorized, truncateReason(`unauthorized: ${options.authError}`))
    }
    else if (options.principal) this.authenticated(peer, options.principal)
    else {
      peer.authTimer = setTimeout(() => {
        if (peer.state !== 'authenticating') return
        this.sendError(peer, new RealtimeError('UNAUTHORIZED', `No credentials: send {"event":"auth","data":{"token":"…"}} within ${this.config.authTimeoutMs} ms of connecting, or pass ?token=`))
        this.refuse(peer, closeCodes.unauthorized, `authentication timeout: no token within ${this.config.authTimeoutMs / 1000} s`)
      }, this.config.authTimeoutMs)
    }
    return peer
  }

  /**
   * A stream that is authenticated and subscribed from the start (the SSE route): no inbound
   * messages, one subscription, an optional resume point.
   */
  attachStream(conn: RealtimeConnection, principal: Principal, channel: RealtimeChannel, filters: SubscriptionFilters, sinceSeq?: number): RealtimePeer {
    const peer = new RealtimePeer(conn)
    this.peers.add(peer)
    if (this.peers.size > this.config.maxConnections) {
      this.refuse(peer, closeCodes.tryAgainLater, 'server full')
      return peer
    }
    peer.principal = principal
    peer.state = 'open'
    peer.lastSentSeq = this.look().maxSeq()
    peer.subs.set(channel, compileRealtimeFilter(filters))
    if (sinceSeq !== undefined) void this.replay(peer, sinceSeq, false)
    else this.joinGroup(peer)
    return peer
  }

  detach(peer: RealtimePeer) {
    if (!this.peers.delete(peer)) {
      // Refused earlier and now closed for good: the fallback terminate is not needed.
      if (peer.closeTimer) clearTimeout(peer.closeTimer)
      return
    }
    peer.state = 'closed'
    if (peer.authTimer) clearTimeout(peer.authTimer)
    if (peer.closeTimer) clearTimeout(peer.closeTimer)
    this.leaveGroup(peer)
    this.buffering.delete(peer)
    peer.liveBuffer = undefined
    this.setPresence(peer, new Set())
  }

  /** The peer showed it is alive (a pong, a message). */
  touch(peer: RealtimePeer) {
    peer.lastSeenAt = Date.now()
  }

  private refuse(peer: RealtimePeer, code: number, reason: string) {
    peer.conn.close(code, reason)
    this.detach(peer)
    this.killLater(peer)
  }

  /** A peer that does not answer the close handshake is cut off, so it holds no memory. */
  private killLater(peer: RealtimePeer) {
    peer.closeTimer = setTimeout(() => peer.conn.terminate(), 5000)
    peer.closeTimer.unref?.()
  }

  private authenticated(peer: RealtimePeer, principal: Principal) {
    if (peer.authTimer) clearTimeout(peer.authTimer)
    peer.authTimer = undefined
    if (principal.role === 'ingest') {
      this.sendError(peer, new RealtimeError('FORBIDDEN', 'The ingest role may only write events; reading the realtime stream needs admin, member or viewer'))
      this.refuse(peer, closeCodes.forbidden, 'forbidden: the ingest role cannot read')
      return
    }
    peer.principal = principal
    peer.state = 'open'
    const latest = this.look().maxSeq()
    // Nothing before the handshake is owed to a fresh connection; a resume asks for it.
    peer.lastSentSeq = latest
    this.sendControl(peer, 'connection_established', {
      session_id: peer.sessionId,
      server_time: new Date().toISOString(),
      available_channels: [...realtimeChannels],
      mode,
      latest_seq: latest,
    } satisfies ConnectionEstablished)
  }

  private heartbeat() {
    const now = Date.now()
    const deadAfter = 2 * this.config.pingMs
    for (const peer of this.peers) {
      if (!peer.conn.ping) continue
      // A ping waits behind whatever is queued: a slow reader is alive if its queue shrinks.
      const buffered = peer.conn.bufferedAmount()
      if (buffered < peer.lastBuffered) peer.lastSeenAt = now
      peer.lastBuffered = buffered
      if (now - peer.lastSeenAt > deadAfter) {
        peer.conn.terminate()
        this.detach(peer)
        continue
      }
      try {
        peer.conn.ping()
      }
      catch { /* the close event detaches it */ }
    }
  }

  // -------------------------------------------------------------------------------------
  // Sending

  sendControl<E extends keyof ControlData>(peer: RealtimePeer, event: E, data: ControlData[E]) {
    if (peer.state === 'closed') return
    this.write(peer, encodeControlMessage(peer.conn.kind, event, data))
  }

  private sendError(peer: RealtimePeer, error: RealtimeError, requestId?: string | number) {
    this.sendControl(peer, 'error', {
      code: error.code, message: error.message,
      ...(requestId === undefined ? {} : { request_id: requestId }),
      ...(error.details ? { details: error.details } : {}),
    })
  }

  broadcastControl<E extends keyof ControlData>(event: E, data: ControlData[E]) {
    for (const peer of this.peers) if (peer.principal) this.sendControl(peer, event, data)
  }

  /**
   * Sends a frame unless it would push the client's queue past the bound: then resync and
   * close. A frame to an empty queue always goes, so the bound is `maxBufferBytes` plus one frame.
   */
  private write(peer: RealtimePeer, frame: Buffer | SharedFrame): boolean {
    if (peer.state === 'closed') return false
    const queued = peer.conn.bufferedAmount()
    const shared = frame instanceof SharedFrame
    if (queued > 0 && queued + (shared ? frame.text.length : frame.length) > this.config.maxBufferBytes) {
      this.overflow(peer)
      return false
    }
    if (!shared) peer.conn.send(frame)
    else if (peer.conn.sendShared) peer.conn.sendShared(frame)
    else peer.conn.send(frame.text)
    return true
  }

  private overflow(peer: RealtimePeer) {
    const latest = this.latestSeq
    // Small and past the bound on purpose: the client reads it after what is already queued.
    peer.conn.send(encodeControlMessage(peer.conn.kind, 'resync_required', { reason: 'slow_consumer', latest_seq: latest }))
    peer.conn.close(closeCodes.slowConsumer, 'slow consumer: send buffer full; reconnect with since_seq')
    this.detach(peer)
    this.killLater(peer)
  }

  private sendEvents(peer: RealtimePeer, outs: OutgoingEvent[]) {
    if (!outs.length) return
    this.write(peer, encodeLogEvents(outs, peer.conn.kind, peer.subs.get('conversations')?.includeMetadata ?? true))
    this.noteDeliveries(peer, outs)
  }

  // -------------------------------------------------------------------------------------
  // Fan-out

  /** Stored events, in seq order, after their transaction committed. */
  publish(events: StoredEvent[]) {
    const look = this.look()
    const now = Date.now()
    const dirty = new Set<Group>()
    if (this.unmapped.length && (this.groups.size || this.buffering.size)) this.mapUnmapped(look)
    for (const ev of events) {
      if (ev.seq > this.latestSeq) this.latestSeq = ev.seq
      if (ev.kind === 'agent.registered' || ev.kind === 'agent.heartbeat' || ev.kind === 'agent.status' || ev.kind === 'task.assigned'
        || ev.kind === 'task.progress' || ev.kind === 'blocker.reported') {
        const agentId = str(ev.payload.agent_id)
        if (agentId) look.forgetAgent(agentId)
      }
      if (!this.groups.size && !this.buffering.size) {
        // Nobody to deliver to (a backfill before any client subscribed): keep the event for
        // the rate estimate and map it only if a subscriber asks for one.
        this.rememberUnmapped(ev, now)
        continue
      }
      const outs = this.mapEvent(ev, look)
      if (!outs.length) continue
      for (const out of outs) this.remember(out, now)
      for (const peer of this.buffering) peer.liveBuffer?.push(outs)
      for (const group of this.groups.values()) {
        let added = 0
        for (const out of outs) {
          if (group.matches(out, look)) {
            group.pending.push(out)
            added++
          }
        }
        if (added) {
          group.countEvents(added, now)
          dirty.add(group)
        }
      }
    }
    for (const group of dirty) this.schedule(group, now)
  }

  private schedule(group: Group, now: number) {
    // A frame still being written: its last slice schedules what came meanwhile.
    if (group.timer || group.inFlight) return
    const busy = this.overloaded || group.lastRate >= this.config.busyEventsPerSecond || group.rateBucket >= this.config.busyEventsPerSecond
    const window = busy
      ? this.config.batchMs
      : Math.min(this.config.batchMs, Math.max(this.config.lightBatchMs, (group.members.size * 1000) / Math.max(1, this.config.sendBudget)))
    const wait = group.lastFlushAt + window - now
    if (wait <= 0) {
      this.flush(group)
      return
    }
    group.timer = setTimeout(() => {
      group.timer = undefined
      this.flush(group)
    }, wait)
  }

  private flush(group: Group) {
    if (group.inFlight) return
    const outs = group.pending
    group.pending = []
    group.lastFlushAt = Date.now()
    if (!outs.length || !group.members.size) return
    const flight: InFlight = {
      outs, first: outs[0]!.seq, last: outs.at(-1)!.seq, includeMetadata: group.includeMetadata, members: [...group.members], next: 0,
    }
    group.inFlight = flight
    this.noteGroupDeliveries(group, outs)
    this.writeSlice(group, flight, performance.now() + this.config.flushSliceMs)
  }

  /**
   * Writes the group's frame to members until `deadline`, then lets the event loop run and
   * goes on. Members who left meanwhile were given the frame's events on leaving (`regroup`);
   * members who joined meanwhile had them from their replay.
   */
  private writeSlice(group: Group, flight: InFlight, deadline: number) {
    const { outs, first, last, includeMetadata, members } = flight
    while (flight.next < members.length) {
      const peer = members[flight.next++]!
      if (peer.group === group && peer.lastSentSeq < last) {
        if (peer.lastSentSeq >= first) {
          // Joined mid-window after a replay or a subscription change: only what it has not had.
          const rest = outs.filter(o => o.seq > peer.lastSentSeq)
          this.write(peer, encodeLogEvents(rest, peer.conn.kind, includeMetadata))
        }
        else if (peer.conn.kind === 'ws') {
          this.write(peer, flight.wsFrame ??= new SharedFrame(encodeLogEvents(outs, 'ws', includeMetadata)))
        }
        else {
          this.write(peer, flight.sseFrame ??= encodeLogEvents(outs, 'sse', includeMetadata))
        }
        peer.lastSentSeq = last
      }
      if ((flight.next & 31) === 0 && flight.next < members.length && performance.now() > deadline) {
        setImmediate(() => {
          if (group.inFlight === flight) this.writeSlice(group, flight, performance.now() + this.config.flushSliceMs)
        })
        return
      }
    }
    group.inFlight = undefined
    if (group.pending.length) this.schedule(group, Date.now())
  }

  private joinGroup(peer: RealtimePeer) {
    this.leaveGroup(peer)
    if (!peer.principal || peer.subs.size === 0 || peer.state !== 'open') return
    const key = groupKey(peer)
    let group = this.groups.get(key)
    if (!group) {
      group = new Group(key, peer.principal, new Map(peer.subs))
      this.groups.set(key, group)
    }
    group.members.add(peer)
    peer.group = group
  }

  private leaveGroup(peer: RealtimePeer) {
    const group = peer.group
    if (!group) return
    group.members.delete(peer)
    peer.group = undefined
    if (group.members.size === 0) {
      if (group.timer) clearTimeout(group.timer)
      this.groups.delete(group.key)
    }
  }

  /**
   * A subscription change: what the old group holds for this window goes out now, so moving
   * to the new group loses nothing; the new group's window skips what was just sent.
   */
  private regroup(peer: RealtimePeer) {
    const old = peer.group
    const held = old ? [...(old.inFlight?.outs ?? []), ...old.pending] : []
    if (held.length) {
      const rest = held.filter(o => o.seq > peer.lastSentSeq)
      if (rest.length) {
        this.sendEvents(peer, rest)
        peer.lastSentSeq = rest.at(-1)!.seq
      }
    }
    this.joinGroup(peer)
  }

  // -------------------------------------------------------------------------------------
  // Command delivery: a command sent to a connection subscribed as its agent is `delivered`

  private noteGroupDeliveries(group: Group, outs: OutgoingEvent[]) {
    const agents = group.subs.get('agent_commands')?.agents
    if (!agents) return
    for (const out of outs) {
      if (out.commandId && out.agentIds.some(a => agents.has(a))) this.markDelivered(out.commandId)
    }
  }

  private noteDeliveries(peer: RealtimePeer, outs: OutgoingEvent[]) {
    const agents = peer.subs.get('agent_commands')?.agents
    if (!agents) return
    for (const out of outs) {
      if (out.commandId && out.agentIds.some(a => agents.has(a))) this.markDelivered(out.commandId)
    }
  }

  private markDelivered(commandId: string) {
    if (this.deliveredCommands.has(commandId)) return
    if (this.deliveredCommands.size > 10_000) this.deliveredCommands.clear()
    this.deliveredCommands.add(commandId)
    // Outside the fan-out: recording it is an ingest, whose events come back through publish.
    setImmediate(() => {
      try {
        updateCommandStatus(commandId, 'delivered')
      }
      catch (error) {
        console.error('[seneca] realtime: cannot mark command delivered', commandId, error)
      }
    })
  }

  // -------------------------------------------------------------------------------------
  // Message-rate estimate

  private mapEvent(ev: StoredEvent, look: RealtimeLookups): OutgoingEvent[] {
    try {
      return toOutgoingEvents(ev, look)
    }
    catch (error) {
      console.error('[seneca] realtime: cannot map event', ev.seq, ev.kind, error)
      return []
    }
  }

  private rememberUnmapped(ev: StoredEvent, now: number) {
    this.unmapped.push({ at: now, ev })
    // Each maps to at least one outgoing event or none, so the newest RATE_SAMPLE_MAX suffice.
    if (this.unmapped.length >= 2 * RATE_SAMPLE_MAX) this.unmapped = this.unmapped.slice(-RATE_SAMPLE_MAX)
  }

  private mapUnmapped(look: RealtimeLookups) {
    if (!this.unmapped.length) return
    const pending = this.unmapped.slice(-RATE_SAMPLE_MAX)
    this.unmapped = []
    for (const { at, ev } of pending) {
      for (const out of this.mapEvent(ev, look)) this.remember(out, at)
    }
  }

  private remember(out: OutgoingEvent, now: number) {
    const entry = { at: now, out }
    if (this.recent.length < RATE_SAMPLE_MAX) this.recent.push(entry)
    else {
      this.recent[this.recentNext] = entry
      this.recentNext = (this.recentNext + 1) % RATE_SAMPLE_MAX
    }
  }

  /** Events per second matching the peer's subscriptions, from recent traffic (last minute). */
  estimateRate(peer: RealtimePeer): number {
    const now = Date.now()
    const look = this.look()
    this.mapUnmapped(look)
    let matching = 0
    let oldest = now
    for (const { at, out } of this.recent) {
      if (now - at > RATE_WINDOW_MS) continue
      if (at < oldest) oldest = at
      if (peer.matches(out, look)) matching++
    }
    // A full sample covers less than a minute when traffic is heavy: divide by what it covers.
    const spanMs = this.recent.length >= RATE_SAMPLE_MAX ? Math.max(1000, now - oldest) : Math.max(1000, Math.min(RATE_WINDOW_MS, now - this.startedAt))
    return Math.round((matching / spanMs) * 10_000) / 10
  }

  // -------------------------------------------------------------------------------------
  // Resume

  /**
   * Replays the events after `sinceSeq` that match the peer, in order, then continues live.
   * Live events published meanwhile are held and delivered after the replay; `lastSentSeq`
   * drops whatever the replay already covered, so the seam has no gap and no duplicate.
   */
  private async replay(peer: RealtimePeer, sinceSeq: number, announce: boolean) {
    const look = this.look()
    const latest = look.maxSeq()
    const oldest = look.minSeq()
    const resync = (reason: ControlData['resync_required']['reason']) => {
      // Live delivery goes on from the newest event; what lies before it the client reloads.
      const now = Math.max(latest, this.latestSeq)
      this.sendControl(peer, 'resync_required', { reason, latest_seq: now, since_seq: sinceSeq })
      peer.lastSentSeq = now
      this.joinGroup(peer)
    }
    if (sinceSeq > latest) return resync('ahead_of_server')
    if (latest - sinceSeq > this.config.replayMax) return resync('too_many')
    if (oldest !== null && sinceSeq < oldest - 1) return resync('too_old')

    this.leaveGroup(peer)
    peer.state = 'replaying'
    peer.liveBuffer = []
    this.buffering.add(peer)
    peer.lastSentSeq = sinceSeq
    const scope = peer.principal!.projects === '*' ? null : peer.principal!.projects
    let replayed = 0
    let cursor = sinceSeq
    try {
      while (cursor < latest) {
        const rows = look.events(cursor, latest, scope, REPLAY_CHUNK)
        if (!rows.length) break
        const outs: OutgoingEvent[] = []
        for (const ev of rows) {
          for (const out of toOutgoingEvents(ev, look)) if (peer.matches(out, look)) outs.push(out)
        }
        cursor = rows.at(-1)!.seq
        if (outs.length) {
          this.sendEvents(peer, outs)
          replayed += outs.length
        }
        peer.lastSentSeq = cursor
        if (!(await this.drained(peer))) return
        if ((peer.liveBuffer?.length ?? 0) > this.config.replayMax) {
          this.buffering.delete(peer)
          peer.liveBuffer = undefined
          peer.state = 'open'
          return resync('replay_buffer_full')
        }
      }
      if (peer.state !== 'replaying') return
      // From here to joining the group nothing awaits, so no live event can slip between.
      const held: OutgoingEvent[] = []
      for (const outs of peer.liveBuffer ?? []) {
        for (const out of outs) if (out.seq > peer.lastSentSeq && peer.matches(out, look)) held.push(out)
      }
      this.buffering.delete(peer)
      peer.liveBuffer = undefined
      peer.state = 'open'
      if (held.length) {
        this.sendEvents(peer, held)
        replayed += held.length
      }
      peer.lastSentSeq = Math.max(peer.lastSentSeq, this.latestSeq)
      this.joinGroup(peer)
      if (announce) this.sendControl(peer, 'resume_complete', { since_seq: sinceSeq, replayed, latest_seq: peer.lastSentSeq })
    }
    catch (error) {
      this.buffering.delete(peer)
      peer.liveBuffer = undefined
      if (peer.state === 'replaying') peer.state = 'open'
      this.sendError(peer, asRealtimeError(error))
    }
  }

  /** Waits until the client has taken most of what was queued (replays can be megabytes). */
  private async drained(peer: RealtimePeer): Promise<boolean> {
    const deadline = Date.now() + 30_000
    while (peer.state === 'replaying' && peer.conn.bufferedAmount() > this.config.maxBufferBytes / 2) {
      if (Date.now() > deadline) {
        this.overflow(peer)
        return false
      }
      await new Promise(r => setTimeout(r, 10))
    }
    await new Promise(r => setImmediate(r))
    return peer.state === 'replaying'
  }

  // -------------------------------------------------------------------------------------
  // Presence

  /** Sets the scopes a peer is present in, telling everyone in each scope. */
  private setPresence(peer: RealtimePeer, scopes: Set<string>) {
    const me = this.viewer(peer)
    for (const key of [...peer.presence]) {
      if (scopes.has(key)) continue
      peer.presence.delete(key)
      const scope = this.presenceScopes.get(key)
      if (!scope) continue
      scope.members.delete(peer)
      if (me) this.presenceChanged(key, scope, 'left', me)
    }
    for (const key of scopes) {
      if (peer.presence.has(key)) continue
      peer.presence.add(key)
      let scope = this.presenceScopes.get(key)
      if (!scope) this.presenceScopes.set(key, (scope = { members: new Set(), joined: [], left: [], lastSentAt: 0, timer: undefined }))
      scope.members.add(peer)
      if (me) this.presenceChanged(key, scope, 'joined', me)
    }
  }

  private viewer(peer: RealtimePeer): PresenceViewer | undefined {
    return peer.principal ? { session_id: peer.sessionId, principal: peer.principal.id } : undefined
  }

  /**
   * Presence changes coalesce like events: the first after a quiet spell goes out at once,
   * later ones within PRESENCE_WINDOW_MS leave together. Otherwise a crowd joining one view
   * would cost members² sends (and a client toggling its view could make every viewer pay).
   */
  private presenceChanged(key: string, scope: PresenceScope, change: 'joined' | 'left', viewer: PresenceViewer) {
    scope[change].push(viewer)
    if (scope.timer) return
    const wait = scope.lastSentAt + PRESENCE_WINDOW_MS - Date.now()
    if (wait <= 0) return this.flushPresence(key, scope)
    scope.timer = setTimeout(() => {
      scope.timer = undefined
      this.flushPresence(key, scope)
    }, wait)
    scope.timer.unref?.()
  }

  private flushPresence(key: string, scope: PresenceScope) {
    scope.lastSentAt = Date.now()
    const { joined, left } = scope
    scope.joined = []
    scope.left = []
    if (scope.members.size === 0) {
      this.presenceScopes.delete(key)
      return
    }
    const viewers: PresenceViewer[] = []
    for (const member of scope.members) {
      if (viewers.length >= PRESENCE_LIST_MAX) break
      const v = this.viewer(member)
      if (v) viewers.push(v)
    }
    const at = key.indexOf(':')
    const id = key.slice(at + 1)
    const update: PresenceUpdate = {
      scope: key.startsWith('project:') ? { project_id: id } : { conversation_id: id },
      viewers,
      viewer_count: scope.members.size,
      ...(joined.length ? { joined: joined.slice(0, PRESENCE_LIST_MAX) } : {}),
      ...(left.length ? { left: left.slice(0, PRESENCE_LIST_MAX) } : {}),
    }
    const frame = encodeControlMessage('ws', 'presence_update', update)
    for (const member of scope.members) this.write(member, frame)
  }

  // -------------------------------------------------------------------------------------
  // Inbound messages

  /** A text frame from the client. Never closes the socket for a bad message: answers `error`. */
  receive(peer: RealtimePeer, text: string) {
    if (peer.state === 'closed') return
    peer.lastSeenAt = Date.now()
    if (!this.withinRate(peer)) return
    if (peer.inbox) {
      // An `auth` is being checked: keep order, handle the rest after it.
      if (peer.inbox.length < this.config.rateLimit) peer.inbox.push(text)
      return
    }
    this.handle(peer, text)
  }

  private withinRate(peer: RealtimePeer): boolean {
    const now = Date.now()
    if (now - peer.rateWindowStart >= 1000) {
      peer.rateWindowStart = now
      peer.rateCount = 0
      peer.rateNotified = false
    }
    peer.rateCount++
    if (peer.rateCount <= this.config.rateLimit) return true
    if (!peer.rateNotified) {
      // One error per window: answering every dropped message would double the flood.
      peer.rateNotified = true
      const retryAfter = Math.max(0, 1000 - (now - peer.rateWindowStart))
      this.sendError(peer, new RealtimeError('RATE_LIMITED', `At most ${this.config.rateLimit} messages per second per connection; messages are dropped for ${retryAfter} ms`, { limit_per_second: this.config.rateLimit, retry_after_ms: retryAfter }))
    }
    return false
  }

  private handle(peer: RealtimePeer, text: string) {
    let requestId: string | number | undefined
    try {
      if (Buffer.byteLength(text) > this.config.maxMessageBytes) {
        throw new RealtimeError('INVALID_MESSAGE', `A message may be at most ${this.config.maxMessageBytes} bytes`)
      }
      let raw: unknown
      try {
        raw = JSON.parse(text)
      }
      catch (error) {
        throw new RealtimeError('INVALID_MESSAGE', `The message is not valid JSON: ${(error as Error).message}`)
      }
      const envelope = clientEnvelope.safeParse(raw)
      if (!envelope.success) throw new RealtimeError('INVALID_MESSAGE', 'Expected a JSON object {"event": "<name>", "data": {…}}')
      const name = envelope.data.event
      const dataRaw = envelope.data.data
      const rid = obj(dataRaw)?.request_id
      if (typeof rid === 'string' || typeof rid === 'number') requestId = rid
      if (!Object.hasOwn(clientMessages, name)) {
        throw new RealtimeError('INVALID_MESSAGE', `Unknown event ${JSON.stringify(name)}; expected one of ${Object.keys(clientMessages).join(', ')}`)
      }
      const event = name as ClientEventName
      if (peer.state === 'authenticating' && event !== 'auth' && event !== 'ping') {
        throw new RealtimeError('UNAUTHORIZED', 'Authenticate first: {"event":"auth","data":{"token":"…"}}')
      }
      const parsed = clientMessages[event].safeParse(dataRaw ?? {})
      if (!parsed.success) throw validationError(parsed.error, `${event} data`)
      this.dispatch(peer, event, parsed.data)
    }
    catch (error) {
      this.sendError(peer, asRealtimeError(error), requestId)
    }
  }

  private dispatch(peer: RealtimePeer, event: ClientEventName, data: unknown) {
    switch (event) {
      case 'auth': return this.onAuth(peer, data as ClientMessage<'auth'>)
      case 'subscribe': return this.onSubscribe(peer, data as ClientMessage<'subscribe'>)
      case 'unsubscribe': return this.onUnsubscribe(peer, data as ClientMessage<'unsubscribe'>)
      case 'resume': return this.onResume(peer, data as ClientMessage<'resume'>)
      case 'view': return this.onView(peer, data as ClientMessage<'view'>)
      case 'request_data': return this.onRequestData(peer, data as ClientMessage<'request_data'>)
      case 'agent_command': return this.onAgentCommand(peer, data as ClientMessage<'agent_command'>)
      case 'command_ack': return this.onCommandAck(peer, data as ClientMessage<'command_ack'>)
      case 'stage_progress': {
        const { request_id } = data as ClientMessage<'stage_progress'>
        const outcome = reportStageProgress(peer.principal!, data as ClientMessage<'stage_progress'>)
        return this.sendControl(peer, 'stage_progress_received', { ...outcome, ...(request_id === undefined ? {} : { request_id }) })
      }
      case 'ping': {
        const { request_id } = data as ClientMessage<'ping'>
        return this.sendControl(peer, 'pong', { server_time: new Date().toISOString(), ...(request_id === undefined ? {} : { request_id }) })
      }
    }
  }

  private onAuth(peer: RealtimePeer, data: ClientMessage<'auth'>) {
    if (peer.state !== 'authenticating') throw new RealtimeError('CONFLICT', 'This connection is already authenticated')
    peer.inbox = []
    authenticate(data.token).then(
      principal => this.authenticated(peer, principal),
      (error: unknown) => {
        const message = error instanceof AuthError ? error.message : 'The token could not be checked'
        this.sendError(peer, new RealtimeError('UNAUTHORIZED', message), data.request_id)
        this.refuse(peer, closeCodes.unauthorized, truncateReason(`unauthorized: ${message}`))
      },
    ).finally(() => {
      const queued = peer.inbox ?? []
      peer.inbox = undefined
      for (const text of queued) this.handle(peer, text)
    })
  }

  private onSubscribe(peer: RealtimePeer, data: ClientMessage<'subscribe'>) {
    const principal = peer.principal!
    const filters = data.filters ?? {}
    const denied = (filters.project_id ?? []).filter(p => !canUseProject(principal, p))
    if (denied.length) {
      throw new RealtimeError('FORBIDDEN', `No access to project${denied.length > 1 ? 's' : ''} ${denied.map(p => `'${p}'`).join(', ')}`, { project_id: denied })
    }
    const channels = [...new Set(data.channels)]
    const compiled = compileRealtimeFilter(filters)
    for (const channel of channels) peer.subs.set(channel, compiled)
    if (peer.state === 'open') this.regroup(peer)
    this.sendControl(peer, 'subscription_confirmed', {
      channels,
      active_subscriptions: peer.subs.size,
      estimated_message_rate: this.estimateRate(peer),
      filters,
    })
    if (peer.pendingResume !== undefined && peer.state === 'open') {
      const since = peer.pendingResume
      peer.pendingResume = undefined
      void this.replay(peer, since, true)
    }
  }

  private onUnsubscribe(peer: RealtimePeer, data: ClientMessage<'unsubscribe'>) {
    const channels = data.channels ? [...new Set(data.channels)] : [...peer.subs.keys()]
    for (const channel of channels) peer.subs.delete(channel)
    if (peer.state === 'open') this.regroup(peer)
    this.sendControl(peer, 'unsubscribed', { channels, active_subscriptions: peer.subs.size })
  }

  private onResume(peer: RealtimePeer, data: ClientMessage<'resume'>) {
    if (peer.state === 'replaying') throw new RealtimeError('CONFLICT', 'A replay is already running on this connection')
    if (peer.subs.size === 0) {
      // Nothing to match yet: the replay starts with the first subscription.
      peer.pendingResume = data.since_seq
      return
    }
    // What the current group holds for this window is newer than the replay's end: drop the
    // peer from it first; the replay's end covers everything up to the newest event.
    this.leaveGroup(peer)
    void this.replay(peer, data.since_seq, true)
  }

  private onView(peer: RealtimePeer, data: ClientMessage<'view'>) {
    const principal = peer.principal!
    const scopes = new Set<string>()
    if (data.project_id) {
      if (!canUseProject(principal, data.project_id)) throw new RealtimeError('FORBIDDEN', `No access to project '${data.project_id}'`, { project_id: data.project_id })
      scopes.add(`project:${data.project_id}`)
    }
    if (data.conversation_id) {
      const projectId = this.look().conversationProject(data.conversation_id)
      if (!projectId || !canUseProject(principal, projectId)) {
        throw new RealtimeError('CONVERSATION_NOT_FOUND', `Conversation with ID '${data.conversation_id}' does not exist`, { conversation_id: data.conversation_id })
      }
      scopes.add(`conversation:${data.conversation_id}`)
    }
    this.setPresence(peer, scopes)
  }

  private onRequestData(peer: RealtimePeer, data: ClientMessage<'request_data'>) {
    const principal = peer.principal!
    const respond = (payload: unknown) => this.sendControl(peer, 'data_response', {
      type: data.type, ...(data.request_id === undefined ? {} : { request_id: data.request_id }), data: payload,
    })
    switch (data.type) {
      case 'conversation_history': {
        const params = parseParameters(requestDataParameters.conversation_history, data.parameters)
        const conversation = getConversation(params.conversation_id, projectScope(principal))
        if (!canUseProject(principal, conversation.project_id)) {
          throw new RealtimeError('CONVERSATION_NOT_FOUND', `Conversation with ID '${params.conversation_id}' does not exist`, { conversation_id: params.conversation_id })
        }
        const page = listMessages(params.conversation_id, { limit: params.limit, before: params.before, after: undefined }, projectScope(principal))
        return respond({ conversation_id: params.conversation_id, project_id: conversation.project_id, ...page })
      }
      case 'agent_status': {
        const params = parseParameters(requestDataParameters.agent_status, data.parameters)
        if (params.project_id && !canUseProject(principal, params.project_id)) {
          throw new RealtimeError('FORBIDDEN', `No access to project '${params.project_id}'`, { project_id: params.project_id })
        }
        const agents = listAgents({ project_id: params.project_id }, projectScope(principal)).agents
        if (params.agent_id) {
          const agent = agents.find(a => a.id === params.agent_id)
          if (!agent) throw new RealtimeError('AGENT_NOT_FOUND', `Agent with ID '${params.agent_id}' does not exist`, { agent_id: params.agent_id })
          return respond({ agent })
        }
        return respond({ agents, total: agents.length })
      }
      case 'project_status': {
        const params = parseParameters(requestDataParameters.project_status, data.parameters)
        if (!canUseProject(principal, params.project_id)) {
          throw new RealtimeError('FORBIDDEN', `No access to project '${params.project_id}'`, { project_id: params.project_id })
        }
        return respond(projectStatus(this.look().sqlite, params.project_id, this.latestSeq))
      }
    }
  }

  private onAgentCommand(peer: RealtimePeer, data: ClientMessage<'agent_command'>) {
    const issued = issueAgentCommand(peer.principal!, {
      agent_id: data.agent_id, command: data.command, reason: data.reason, parameters: data.parameters,
    })
    this.sendControl(peer, 'command_accepted', {
      command_id: issued.command_id, status: issued.status, agent_id: issued.agent_id, command: issued.command,
      ...(data.request_id === undefined ? {} : { request_id: data.request_id }),
    })
  }

  private onCommandAck(peer: RealtimePeer, data: ClientMessage<'command_ack'>) {
    const updated = updateCommandStatus(data.command_id, data.status, { principal: peer.principal!, result: data.result })
    this.sendControl(peer, 'command_ack_received', {
      command_id: updated.command_id, status: updated.status,
      ...(data.request_id === undefined ? {} : { request_id: data.request_id }),
    })
  }
}

function parseParameters<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw validationError(parsed.error, 'parameters')
  return parsed.data
}

/** WebSocket close reasons are at most 123 bytes. */
function truncateReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -2)
  return out === reason ? out : `${out.slice(0, -1)}…`
}

/** A project at a glance: counts by status, for `request_data {type: "project_status"}`. */
function projectStatus(sqlite: Sqlite, projectId: string, latestSeq: number) {
  const project = sqlite.prepare('SELECT id, name, status, updated_at FROM projects WHERE id = ?').get(projectId) as
    { id: string, name: string, status: string, updated_at: number } | undefined
  if (!project) throw new RealtimeError('PROJECT_NOT_FOUND', `Project with ID '${projectId}' does not exist`, { project_id: projectId })
  const counts = (sql: string) => Object.fromEntries((sqlite.prepare(sql).all(projectId) as { k: string, n: number }[]).map(r => [r.k, r.n]))
  return {
    project_id: project.id,
    name: project.name,
    status: project.status,
    updated_at: new Date(project.updated_at).toISOString(),
    agents: counts('SELECT status AS k, count(*) AS n FROM agents WHERE project_id = ? GROUP BY status'),
    tasks: counts('SELECT status AS k, count(*) AS n FROM tasks WHERE project_id = ? GROUP BY status'),
    open_blockers: (sqlite.prepare('SELECT count(*) AS n FROM blockers WHERE project_id = ? AND status = \'open\'').get(projectId) as { n: number }).n,
    conversations: (sqlite.prepare('SELECT count(*) AS n FROM conversations WHERE project_id = ?').get(projectId) as { n: number }).n,
    mode,
    latest_seq: latestSeq,
  }
}

// ---------------------------------------------------------------------------------------
// The instance, and the WebSocket upgrade

let hub: RealtimeHub | undefined

export function useRealtimeHub(): RealtimeHub {
  hub ??= new RealtimeHub()
  return hub
}

/** Tests: a hub with its own settings (the previous one is stopped). */
export function resetRealtimeHub(config: Partial<RealtimeConfig> = {}): RealtimeHub {
  hub?.stop()
  hub = new RealtimeHub(config)
  return hub
}

/** The subprotocol Seneca speaks; offered together with `bearer.<token>` it is the one echoed back. */
export const REALTIME_SUBPROTOCOL = 'seneca.v1'

type UpgradeRequestLike = { url: string, headers: Headers, context: Record<string, unknown> }

/**
 * Decides a WebSocket upgrade: refuses it (HTTP 503) when the server is full, and otherwise
 * authenticates a token from `?token=` or the `bearer.<token>` subprotocol, leaving the
 * principal — or why the token was refused — in the peer's context. A refused token is not
 * refused here but after the upgrade with close code 4401 and the reason: browsers cannot
 * read the status of a failed upgrade, but they can read a close reason.
 */
export async function prepareUpgrade(request: UpgradeRequestLike): Promise<Response | undefined> {
  const instance = useRealtimeHub()
  if (instance.connectionCount() >= instance.config.maxConnections) {
    const body = JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: `Server full: at most ${instance.config.maxConnections} realtime connections; retry later`, details: {}, timestamp: new Date().toISOString(), request_id: '' } })
    return new Response(new TextEncoder().encode(body), { status: 503, statusText: 'Service Unavailable', headers: { 'retry-after': '5' } })
  }
  const url = new URL(request.url, 'http://localhost')
  const protocols = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map(p => p.trim()).filter(Boolean)
  const fromProtocol = protocols.find(p => p.startsWith('bearer.'))?.slice('bearer.'.length)
  if (fromProtocol && protocols.includes(REALTIME_SUBPROTOCOL)) {
    // The `ws` server echoes the first offered subprotocol; make that `seneca.v1`, never the token.
    const raw = (request as unknown as { _req?: IncomingMessage })._req
    if (raw?.headers) raw.headers['sec-websocket-protocol'] = REALTIME_SUBPROTOCOL
  }
  const token = url.searchParams.get('token') || fromProtocol
  const since = url.searchParams.get('since_seq')
  if (since !== null && /^\d{1,15}$/.test(since)) request.context.sinceSeq = Number(since)
  if (!token) return undefined
  try {
    request.context.principal = await authenticate(token)
  }
  catch (error) {
    request.context.authError = error instanceof AuthError ? error.message : 'The token could not be checked'
  }
  return undefined
}

/** What `prepareUpgrade` left in the context, for `attach`. */
export function attachOptions(context: Record<string, unknown>): AttachOptions {
  return {
    principal: context.principal as Principal | undefined,
    authError: typeof context.authError === 'string' ? context.authError : undefined,
    sinceSeq: typeof context.sinceSeq === 'number' ? context.sinceSeq : undefined,
  }
}

// ---------------------------------------------------------------------------------------
// Transports

/** The part of the `ws` socket the hub uses. */
type NodeWebSocket = {
  readonly bufferedAmount: number
  readonly readyState: number
  /** The negotiated extensions and their accepted parameters. */
  readonly _extensions?: Record<string, { params?: Record<string, unknown> } | undefined>
  /** The TCP socket, for writing a shared pre-built frame (see realtime-frames.ts). */
  readonly _socket?: { write(data: Buffer): boolean }
  readonly _sender?: { _queue?: unknown[] }
  send(data: Buffer, options: { binary: boolean }): void
  ping(): void
  close(code?: number, reason?: string): void
  terminate(): void
  on(event: 'pong', listener: () => void): unknown
}

/** A crossws peer as little as the hub needs: `send`, `close`, `terminate`, its socket. */
type CrosswsPeer = {
  send(data: unknown): unknown
  close(code?: number, reason?: string): void
  terminate(): void
}

/**
 * A crossws peer as a hub connection. On Node the `ws` socket sits on the peer's internals:
 * the public `peer.websocket` is typed as a browser WebSocket, without `ping` or a pong event,
 * and the hub needs both, plus `bufferedAmount` for backpressure and Buffer sends as text
 * frames (one Buffer shared by every member of a group, never copied per peer).
 */
export function crosswsConnection(peer: CrosswsPeer, onPong: () => void): RealtimeConnection {
  const ws = (peer as unknown as { _internal?: { ws?: Partial<NodeWebSocket> } })._internal?.ws
  const native = ws && typeof ws.send === 'function' && typeof ws.ping === 'function' ? ws as NodeWebSocket : undefined
  native?.on('pong', onPong)
  const send = native ? (frame: Buffer) => native.send(frame, { binary: false }) : (frame: Buffer) => peer.send(frame.toString('utf8'))
  const windowBits = native ? negotiatedWindowBits(native._extensions?.['permessage-deflate']?.params) : null
  return {
    kind: 'ws',
    send,
    sendShared: (frame) => {
      const socket = native?._socket
      // Written whole, between messages: `ws` never holds a queue here (it never compresses),
      // but should it, the frame goes through it to keep the order.
      if (!socket || native!.readyState !== 1 || native!._sender?._queue?.length) return send(frame.text)
      socket.write((windowBits === null ? null : frame.compressed(windowBits)) ?? frame.plain())
    },
    bufferedAmount: () => native?.bufferedAmount ?? 0,
    close: (code, reason) => peer.close(code, reason),
    terminate: () => peer.terminate(),
    ...(native ? { ping: () => native.ping() } : {}),
  }
}

/** The part of a Node response an SSE stream uses. */
type SseResponse = {
  readonly writableLength: number
  readonly writableEnded: boolean
  write(chunk: Buffer | string): boolean
  end(): void
  destroy(): void
}

/** An SSE response as a hub connection (frames are already `id:/event:/data:` blocks). */
export function sseConnection(res: SseResponse): RealtimeConnection {
  return {
    kind: 'sse',
    send: (frame) => {
      if (!res.writableEnded) res.write(frame)
    },
    bufferedAmount: () => res.writableLength,
    close: () => {
      if (!res.writableEnded) res.end()
    },
    terminate: () => res.destroy(),
  }
}

// ---------------------------------------------------------------------------------------
// Conversation streams (`/api/conversations/{id}/stream`)

/** How long a stream token lives: enough to connect, short enough not to matter if it leaks. */
const STREAM_TOKEN_TTL_S = 300
const SSE_KEEPALIVE_MS = 15_000

/**
 * The caller of a stream route: the gateway's principal when there is one, else the stream
 * token from the query; with neither (no gateway in front of the routes) the caller is
 * treated as an admin, as every other route then is.
 */
export async function streamPrincipal(event: H3Event, token?: string): Promise<Principal> {
  const fromGateway = event.context.principal as Principal | undefined
  if (fromGateway) return fromGateway
  if (token) {
    try {
      return await authenticate(token)
    }
    catch (error) {
      if (error instanceof AuthError) throw apiError('UNAUTHORIZED', error.message, { reason: error.reason })
      throw error
    }
  }
  return { id: 'user:anonymous', kind: 'jwt', role: 'admin', projects: '*' }
}

/** The conversation's project, or 404 — also when the caller may not read that project. */
function readableConversation(principal: Principal, conversationId: string): { projectId: string } {
  if (principal.role === 'ingest') throw apiError('FORBIDDEN', 'The ingest role may only write events', { role: principal.role })
  const conversation = getConversation(conversationId, projectScope(principal))
  if (!canUseProject(principal, conversation.project_id)) {
    throw apiError('CONVERSATION_NOT_FOUND', `Conversation with ID '${conversationId}' does not exist`, { conversation_id: conversationId })
  }
  return { projectId: conversation.project_id }
}

export type StreamRequest = { include_metadata: boolean, filter_types?: string[], real_time: boolean }

/**
 * How to attach to a conversation's live messages: the WebSocket subscription to send, a
 * short-lived token limited to the conversation's project, and the SSE alternative.
 * `real_time: false` asks for no live feed (historical browsing): no token, no stream URLs.
 */
export async function conversationStreamAttachment(event: H3Event, principal: Principal, conversationId: string, input: StreamRequest) {
  const { projectId } = readableConversation(principal, conversationId)
  const filters: SubscriptionFilters = {
    conversation_id: [conversationId],
    ...(input.filter_types?.length ? { message_types: input.filter_types } : {}),
    ...(input.include_metadata ? {} : { include_metadata: false }),
  }
  const subscription = { channels: ['conversations'] as RealtimeChannel[], filters }
  const historyUrl = `/api/conversations/${encodeURIComponent(conversationId)}/messages`
  if (!input.real_time) {
    return { conversation_id: conversationId, project_id: projectId, real_time: false, mode, websocket_url: null, sse_url: null, subscription, stream_token: null, expires_at: null, history_url: historyUrl }
  }
  const sub = principal.id.startsWith('user:') ? principal.id.slice('user:'.length) : principal.id
  const token = await mintToken({ sub, role: principal.role, projects: [projectId] }, `${STREAM_TOKEN_TTL_S}s`)
  const url = getRequestURL(event, { xForwardedHost: true, xForwardedProto: true })
  const wsBase = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`
  const sse = new URLSearchParams({ token })
  if (input.filter_types?.length) sse.set('message_types', input.filter_types.join(','))
  if (!input.include_metadata) sse.set('include_metadata', 'false')
  return {
    conversation_id: conversationId,
    project_id: projectId,
    real_time: true,
    mode,
    websocket_url: `${wsBase}/api/ws?token=${encodeURIComponent(token)}`,
    subscription,
    stream_token: token,
    expires_at: new Date(Date.now() + STREAM_TOKEN_TTL_S * 1000).toISOString(),
    sse_url: `${url.protocol}//${url.host}/api/conversations/${encodeURIComponent(conversationId)}/stream?${sse}`,
    history_url: historyUrl,
  }
}

/**
 * Serves a conversation's messages as Server-Sent Events (`id: <seq>`, `event:
 * conversation_message`, `data: {conversation_id, project_id, message}`), replaying from
 * `lastEventId` first when given, with keep-alive comments. The stream is a hub peer like a
 * WebSocket, so it gets the same batching, ordering, resume and backpressure.
 */
export function serveConversationStream(event: H3Event, principal: Principal, conversationId: string, options: {
  messageTypes?: string[]
  includeMetadata: boolean
  lastEventId?: number
}) {
  const { projectId } = readableConversation(principal, conversationId)
  const instance = useRealtimeHub()
  if (instance.connectionCount() >= instance.config.maxConnections) {
    throw apiError('SERVICE_UNAVAILABLE', `Server full: at most ${instance.config.maxConnections} realtime connections; retry later`)
  }
  const res = event.node.res
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'connection': 'keep-alive',
    // Proxies (nginx) must pass events through as they come.
    'x-accel-buffering': 'no',
  })
  res.write(`retry: 2000\n: stream of conversation ${conversationId}\n\n`)
  const peer = instance.attachStream(sseConnection(res), principal, 'conversations', {
    conversation_id: [conversationId],
    project_id: [projectId],
    ...(options.messageTypes?.length ? { message_types: options.messageTypes } : {}),
    ...(options.includeMetadata ? {} : { include_metadata: false }),
  }, options.lastEventId)
  const keepAlive = setInterval(() => {
    if (!res.writableEnded) res.write(': keep-alive\n\n')
  }, SSE_KEEPALIVE_MS)
  keepAlive.unref()
  // The response closes when the client goes away (the request's own close comes earlier).
  res.on('close', () => {
    clearInterval(keepAlive)
    instance.detach(peer)
  })
}
