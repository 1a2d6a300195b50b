/** Shared WebSocket frames: framing, RFC 7692 compression, negotiated window sizes. */
import { constants, inflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { SharedFrame, deflateMessage, negotiatedWindowBits, textFrame, websocketServerOptions } from '../../server/utils/realtime-frames'

/** Parses one unmasked server frame: flags, payload. */
function parse(frame: Buffer) {
  let length = frame[1]! & 0x7F
  let at = 2
  if (length === 126) {
    length = frame.readUInt16BE(2)
    at = 4
  }
  else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2))
    at = 10
  }
  expect(frame[1]! & 0x80).toBe(0) // servers never mask
  return { fin: !!(frame[0]! & 0x80), rsv1: !!(frame[0]! & 0x40), opcode: frame[0]! & 0x0F, payload: frame.subarray(at, at + length), rest: frame.length - at - length }
}

/** What a client does (RFC 7692 §7.2.2): append 00 00 ff ff and inflate. */
const inflate = (payload: Buffer) => inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xFF, 0xFF])]), { finishFlush: constants.Z_SYNC_FLUSH })

describe('text frames', () => {
  it.each([10, 125, 126, 65_535, 65_536, 200_000])('frames a %i-byte payload with the right length encoding', (n) => {
    const payload = Buffer.alloc(n, 'a')
    const f = parse(textFrame(payload))
    expect(f).toMatchObject({ fin: true, rsv1: false, opcode: 1, rest: 0 })
    expect(f.payload.equals(payload)).toBe(true)
  })
})

describe('compression', () => {
  const batch = Buffer.from(JSON.stringify({ event: 'batch', data: { events: Array.from({ length: 100 }, (_, i) => ({ event: 'conversation_message', seq: i, data: { message: { content: `progress on task ${i}` } } })) } }))

  it('deflates a message on its own, without the sync-flush tail, so any client can inflate it', () => {
    for (const bits of [9, 12, 15]) {
      const payload = deflateMessage(batch, bits)
      expect(payload.subarray(-4).equals(Buffer.from([0, 0, 0xFF, 0xFF]))).toBe(false)
      expect(inflate(payload).equals(batch)).toBe(true)
      expect(payload.length).toBeLessThan(batch.length / 5)
    }
  })

  it('builds the compressed frame once per window size and sends small messages plain', () => {
    const shared = new SharedFrame(batch)
    const a = shared.compressed(15)!
    expect(shared.compressed(15)).toBe(a)
    expect(shared.compressed(10)).not.toBe(a)
    const f = parse(a)
    expect(f).toMatchObject({ fin: true, rsv1: true, opcode: 1, rest: 0 })
    expect(inflate(f.payload).equals(batch)).toBe(true)
    const small = new SharedFrame(Buffer.from('{"event":"pong"}'))
    expect(small.compressed(15)).toBeNull()
    expect(small.plain()).toBe(small.plain())
    expect(parse(small.plain())).toMatchObject({ rsv1: false, opcode: 1, payload: Buffer.from('{"event":"pong"}') })
  })

  it('reads the window the client allows from the negotiated extensions', () => {
    expect(negotiatedWindowBits(undefined)).toBeNull()
    expect(negotiatedWindowBits({ server_no_context_takeover: true, client_max_window_bits: 10 })).toBe(15)
    expect(negotiatedWindowBits({ server_no_context_takeover: true, server_max_window_bits: 11 })).toBe(11)
    // zlib cannot keep to a 256-byte window: such a client gets plain frames.
    expect(negotiatedWindowBits({ server_max_window_bits: 8 })).toBeNull()
  })

  it('offers deflate without per-peer compression and bounds inbound messages', () => {
    const options = websocketServerOptions(64 * 1024)
    expect(options.perMessageDeflate).toMatchObject({ serverNoContextTakeover: true, threshold: Number.POSITIVE_INFINITY })
    expect(options.maxPayload).toBe(1024 * 1024)
  })
})
