/** A small realtime WebSocket client for tests: records frames, flattens batches, waits for events. */
import WebSocket from 'ws'
import { waitFor } from './server'

export type Frame = { event: string, channel?: string, seq?: number, data: any }

export class WsClient {
  readonly frames: Frame[] = []
  readonly events: Frame[] = []
  readonly closed: Promise<{ code: number, reason: string }>

  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame
      this.frames.push(frame)
      if (frame.event === 'batch') this.events.push(...frame.data.events)
      else this.events.push(frame)
    })
    ws.on('error', () => { /* the close promise reports the end */ })
    this.closed = new Promise(resolve => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  /** Connects with a query token and waits for `connection_established`. */
  static async ready(port: number, token: string): Promise<WsClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws?token=${encodeURIComponent(token)}`)
    const client = new WsClient(ws)
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok())
      ws.once('error', fail)
      ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)))
    })
    await client.next('connection_established')
    return client
  }

  send(event: string, data?: unknown) {
    this.ws.send(JSON.stringify(data === undefined ? { event } : { event, data }))
  }

  /** The first event of this name, waiting for it. */
  next(event: string, timeoutMs = 10_000): Promise<Frame> {
    return waitFor(() => this.events.find(f => f.event === event), timeoutMs, 10)
  }

  async subscribe(channels: string[], filters?: Record<string, unknown>) {
    this.send('subscribe', filters ? { channels, filters } : { channels })
    await this.next('subscription_confirmed')
  }

  /** Round trip: everything sent before the pong has arrived. */
  async sync() {
    const id = `sync-${Math.random()}`
    this.send('ping', { request_id: id })
    await waitFor(() => this.events.find(f => f.event === 'pong' && f.data.request_id === id), 10_000, 10)
  }

  /** Seqs of the log events received, in arrival order. */
  seqs(): number[] {
    return this.events.filter(f => typeof f.seq === 'number').map(f => f.seq!)
  }
}
