/**
 * WebSocket frames shared by every member of a subscription group, compressed once.
 *
 * Fan-out cost is mostly bytes: 1,000 clients × 2,000 messages/s × ~450 bytes is ~900 MB/s
 * through the kernel, which a 2-core machine cannot also spend on everything else. Clients
 * that negotiate `permessage-deflate` (RFC 7692; every browser offers it) get a group's frame
 * deflated once and the same compressed bytes written to each of them — a batch of similar
 * JSON events compresses ~15×. The server always answers with `server_no_context_takeover`,
 * so every message is compressed on its own and is the same for every peer with the same
 * window size. `ws` itself never compresses (its threshold is infinite): per-peer
 * compression would cost the deflate once per client, and would make `ws` queue sends
 * behind its asynchronous deflate, which must not interleave with the shared frames.
 */
import { constants, deflateRawSync } from 'node:zlib'

/** `ws` server options for crossws: negotiate permessage-deflate, never compress per peer. */
export function websocketServerOptions(maxMessageBytes: number) {
  return {
    perMessageDeflate: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      threshold: Number.POSITIVE_INFINITY,
      // What clients send us is small: a small window keeps each connection's inflate cheap.
      clientMaxWindowBits: 10,
    },
    // Decompressed messages above this are refused by `ws` (close 1009) before they reach the
    // hub, which rejects anything above `maxMessageBytes` with an error envelope.
    maxPayload: Math.max(1024 * 1024, 4 * maxMessageBytes),
  }
}

/**
 * The deflate window the client allows the server (`server_max_window_bits`), from the
 * accepted permessage-deflate parameters, or null when the peer did not negotiate deflate.
 */
export function negotiatedWindowBits(params: Record<string, unknown> | undefined): number | null {
  if (!params) return null
  const bits = params.server_max_window_bits === undefined ? 15 : Number(params.server_max_window_bits)
  // zlib cannot honour a 256-byte window (it widens 8 to 9): send such a peer plain frames.
  return bits >= 9 && bits <= 15 ? bits : null
}

function header(payloadLength: number, compressed: boolean): Buffer {
  const first = 0x80 | (compressed ? 0x40 : 0) | 0x01 // FIN, RSV1 when compressed, text
  if (payloadLength < 126) return Buffer.from([first, payloadLength])
  if (payloadLength < 65_536) {
    const h = Buffer.allocUnsafe(4)
    h[0] = first
    h[1] = 126
    h.writeUInt16BE(payloadLength, 2)
    return h
  }
  const h = Buffer.allocUnsafe(10)
  h[0] = first
  h[1] = 127
  h.writeBigUInt64BE(BigInt(payloadLength), 2)
  return h
}

/** A whole unmasked server frame (header and payload) for a text message. */
export function textFrame(payload: Buffer, compressed = false): Buffer {
  return Buffer.concat([header(payload.length, compressed), payload])
}

/**
 * Deflates one message as RFC 7692 §7.2.1 says: a sync flush, its `00 00 ff ff` tail removed.
 * At the default level, not the fastest: the deflate runs once per group, but every client
 * inflates, and zlib's level-1 output of a 90 KB batch takes ~4× longer to inflate (~0.3 ms
 * against ~0.07 ms here) while deflating at level 6 costs ~0.4 ms once.
 */
export function deflateMessage(text: Buffer, windowBits: number): Buffer {
  const out = deflateRawSync(text, { level: constants.Z_DEFAULT_COMPRESSION, windowBits, finishFlush: constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}

/** Below this a message goes out plain: deflate's block overhead would eat the gain. */
const MIN_COMPRESS_BYTES = 512

/**
 * One text message for many peers: the plain text, and whole frames built on first use —
 * compressed per window size, since a peer may ask for a smaller window than 15 bits.
 */
export class SharedFrame {
  private readonly deflated = new Map<number, Buffer>()
  private framed: Buffer | undefined

  constructor(readonly text: Buffer) {}

  /** The uncompressed frame, built once. */
  plain(): Buffer {
    return this.framed ??= textFrame(this.text)
  }

  /**
   * The frame for a peer that negotiated deflate with this window, or null for a message too
   * small to gain from compression (the peer then gets the plain text).
   */
  compressed(windowBits: number): Buffer | null {
    if (this.text.length < MIN_COMPRESS_BYTES) return null
    let frame = this.deflated.get(windowBits)
    if (!frame) {
      frame = textFrame(deflateMessage(this.text, windowBits), true)
      this.deflated.set(windowBits, frame)
    }
    return frame
  }
}
