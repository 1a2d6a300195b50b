/**
 * The dashboards' one WebSocket (`/api/ws`), shared by every page: connection status, the
 * Marcus mode, resume after drops, and channel listeners.
 *
 *   const realtime = useRealtimeStore()       // status: 'connecting'|'live'|'reconnecting'|'offline'; mode: 'live'|'historical'|null
 *   useRealtimeChannel('agent_status', (e) => { if (e.event === 'agent_status_update') … })   // composables/useRealtime.ts
 *   useRealtimeResync(() => refresh())        // after a gap the server could not replay: reload over HTTP
 *
 * The layout calls `start()` once signed in and `stop()` on sign-out. Listeners may come and go:
 * the store subscribes a channel (unfiltered: the server already limits it to the principal's
 * projects) while anyone listens, and filters in the listener. After a drop it reconnects with
 * backoff and `since_seq` of the last event seen, so missed events are replayed in order.
 */
import { defineStore } from 'pinia'
import type { ControlData, LogEvent, LogEventName, RealtimeChannel, RealtimeMode } from '~~/shared/realtime'

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'offline'
/** A log event whose `data` type follows its `event` name, so `if (e.event === …)` narrows it. */
export type AnyLogEvent = { [E in LogEventName]: LogEvent<E> }[LogEventName]
export type ChannelHandler = (event: AnyLogEvent) => void

/** Close codes after which reconnecting is pointless (see shared/realtime.ts closeCodes). */
const UNAUTHORIZED = 4401
const FORBIDDEN = 4403
const PING_MS = 15_000
const MAX_BACKOFF_MS = 10_000
/** Failing this long turns "reconnecting" into "offline" (retries go on). */
const OFFLINE_AFTER_MS = 30_000

type Frame = { event: string, channel?: RealtimeChannel, seq?: number, data?: unknown }

export const useRealtimeStore = defineStore('realtime', () => {
  const status = ref<ConnectionStatus>('connecting')
  const mode = ref<RealtimeMode | null>(null)
  const lastSeq = ref(0)
  const sessionId = ref<string | null>(null)
  const lastError = ref<string | null>(null)
  /** Connections established so far; a page may show "reconnected". */
  const connections = ref(0)

  let socket: WebSocket | null = null
  let running = false
  let attempts = 0
  let failingSince = 0
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let pingTimer: ReturnType<typeof setInterval> | undefined
  let lastFrameAt = 0
  const handlers = new Map<RealtimeChannel, Set<ChannelHandler>>()
  const resyncHandlers = new Set<() => void>()

  function url(): string {
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`
    return lastSeq.value > 0 ? `${base}?since_seq=${lastSeq.value}` : base
  }

  function send(event: string, data: unknown = {}) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event, data }))
  }

  function subscribe(channels: RealtimeChannel[]) {
    if (channels.length) send('subscribe', { channels })
  }

  function dispatch(frame: Frame) {
    if (typeof frame.seq === 'number' && frame.seq > lastSeq.value) lastSeq.value = frame.seq
    const set = frame.channel ? handlers.get(frame.channel) : undefined
    if (!set) return
    for (const handler of set) {
      try {
        handler(frame as AnyLogEvent)
      }
      catch (error) {
        console.warn('realtime listener failed', error)
      }
    }
  }

  function onFrame(frame: Frame) {
    lastFrameAt = Date.now()
    switch (frame.event) {
      case 'connection_established': {
        const data = frame.data as ControlData['connection_established']
        status.value = 'live'
        mode.value = data.mode
        sessionId.value = data.session_id
        lastError.value = null
        attempts = 0
        failingSince = 0
        connections.value++
        if (lastSeq.value === 0) lastSeq.value = data.latest_seq
        // Subscribing starts the replay of `since_seq` (when reconnecting).
        subscribe([...handlers.keys()])
        return
      }
      case 'mode_update':
        mode.value = (frame.data as ControlData['mode_update']).mode
        return
      case 'batch':
        for (const event of (frame.data as ControlData['batch']).events) dispatch(event as Frame)
        return
      case 'resync_required': {
        const data = frame.data as ControlData['resync_required']
        lastSeq.value = data.latest_seq
        for (const handler of resyncHandlers) handler()
        return
      }
      case 'error':
        lastError.value = (frame.data as ControlData['error']).message
        return
      default:
        if (typeof frame.seq === 'number') dispatch(frame)
    }
  }

  function connect() {
    const { credential } = useCredential()
    if (!running || !credential.value) return
    status.value = attempts === 0 && connections.value === 0 ? 'connecting' : status.value
    const ws = new WebSocket(url(), ['seneca.v1', `bearer.${credential.value}`])
    socket = ws
    ws.onmessage = (message) => {
      try {
        onFrame(JSON.parse(String(message.data)) as Frame)
      }
      catch { /* not JSON: the protocol never sends that */ }
    }
    ws.onclose = (close) => {
      if (socket !== ws) return
      socket = null
      if (close.code === UNAUTHORIZED) {
        stop()
        useCredential().signOut(true)
        void navigateTo({ path: '/login', query: { expired: '1' } })
        return
      }
      if (close.code === FORBIDDEN) {
        stop()
        lastError.value = close.reason || 'This credential may not read live events'
        return
      }
      scheduleReconnect()
    }
  }

  function scheduleReconnect() {
    if (!running) return
    if (!failingSince) failingSince = Date.now()
    const offline = (typeof navigator !== 'undefined' && navigator.onLine === false) || Date.now() - failingSince > OFFLINE_AFTER_MS
    status.value = offline ? 'offline' : 'reconnecting'
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempts) * (0.8 + Math.random() * 0.4)
    attempts++
    clearTimeout(retryTimer)
    retryTimer = setTimeout(connect, delay)
  }

  /** A connection the network silently lost never closes by itself: our own pings notice. */
  function checkAlive() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return
    if (Date.now() - lastFrameAt > PING_MS * 2) {
      socket.close()
      return
    }
    send('ping')
  }

  function onOnline() {
    if (running && !socket) {
      attempts = 0
      clearTimeout(retryTimer)
      connect()
    }
  }

  function start() {
    if (running) return
    running = true
    attempts = 0
    connect()
    pingTimer = setInterval(checkAlive, PING_MS)
    window.addEventListener('online', onOnline)
  }

  function stop() {
    running = false
    clearTimeout(retryTimer)
    clearInterval(pingTimer)
    window.removeEventListener('online', onOnline)
    const ws = socket
    socket = null
    ws?.close(1000)
    status.value = 'offline'
    lastSeq.value = 0
    connections.value = 0
  }

  /** Listen to a channel; returns the function that stops listening. */
  function on(channel: RealtimeChannel, handler: ChannelHandler): () => void {
    let set = handlers.get(channel)
    if (!set) {
      set = new Set()
      handlers.set(channel, set)
      subscribe([channel])
    }
    set.add(handler)
    return () => {
      const current = handlers.get(channel)
      if (!current) return
      current.delete(handler)
      if (current.size === 0) {
        handlers.delete(channel)
        send('unsubscribe', { channels: [channel] })
      }
    }
  }

  /** Called when the server could not replay a gap: sections reload over HTTP. */
  function onResync(handler: () => void): () => void {
    resyncHandlers.add(handler)
    return () => resyncHandlers.delete(handler)
  }

  return { status, mode, lastSeq, sessionId, lastError, connections, start, stop, on, onResync, send }
})
