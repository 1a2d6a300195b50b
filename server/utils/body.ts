/**
 * Reads a JSON request body with a byte limit, streaming, so an oversized body is refused
 * with 413 before it is held in memory, and malformed JSON is a 400 — both in the envelope.
 * JSON nested deeper than MAX_JSON_DEPTH is refused too: JSON.parse copes with any depth,
 * but JSON.stringify and other recursive code downstream overflow the stack on it.
 */
import type { IncomingMessage } from 'node:http'
import { getRequestHeader, type H3Event, setResponseHeader } from 'h3'
import { apiError } from './errors'

/** Deeper JSON is refused: no request of this API needs more than a few levels. */
export const MAX_JSON_DEPTH = 64

/** After refusing a body, at most this much more of it is read and dropped before the connection is cut. */
const DRAIN_BYTES = 8 * 1024 * 1024

export async function readJsonBody(event: H3Event, maxBytes: number): Promise<unknown> {
  const declared = Number(getRequestHeader(event, 'content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    // Node reads and drops the unread body after the answer, keeping the connection usable;
    // a body too big to be worth reading closes it instead.
    if (declared > maxBytes + DRAIN_BYTES) setResponseHeader(event, 'Connection', 'close')
    throw tooLarge(maxBytes)
  }
  const type = getRequestHeader(event, 'content-type') ?? ''
  if (type && !/^application\/(?:[\w.+-]*\+)?json\b/i.test(type)) {
    throw apiError('UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type application/json, got "${type}"`)
  }
  const raw = await readLimited(event, maxBytes)
  const text = raw.toString('utf8')
  if (!text.trim()) throw apiError('INVALID_JSON', 'The request body is empty; expected JSON')
  let body: unknown
  try {
    body = JSON.parse(text)
  }
  catch (error) {
    throw apiError('INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`)
  }
  if (!withinDepth(body, MAX_JSON_DEPTH)) {
    throw apiError('VALIDATION_FAILED', `The request body nests deeper than ${MAX_JSON_DEPTH} levels`, { max_depth: MAX_JSON_DEPTH })
  }
  // A route priced by its body (ingest: per event) is charged now that the size is known.
  const pricer = event.context.bodyPricer as ((body: unknown) => Promise<void>) | undefined
  if (pricer) await pricer(body)
  return body
}

/**
 * The body, or 413 as soon as it passes `maxBytes`. The rest of a refused body is still read
 * and dropped (up to DRAIN_BYTES, then the connection is cut) so that the client, still
 * sending, gets the 413 instead of a reset connection.
 */
function readLimited(event: H3Event, maxBytes: number): Promise<Buffer> {
  const req: IncomingMessage = event.node.req
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return reject(apiError('BAD_REQUEST', 'The request body was already read'))
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (refused) {
        if (size > maxBytes + DRAIN_BYTES) req.destroy()
        return
      }
      if (size > maxBytes) {
        refused = true
        chunks.length = 0
        reject(tooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => {
      if (!refused) resolve(Buffer.concat(chunks, size))
    })
    req.once('error', (error) => {
      if (!refused) reject(apiError('BAD_REQUEST', `The request body could not be read: ${error.message}`))
    })
  })
}

function tooLarge(maxBytes: number) {
  return apiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${maxBytes} bytes`, { max_bytes: maxBytes })
}

/** Whether no array or object in `value` is nested deeper than `max` (iterative: deep input must not overflow this check either). */
/**
 * For routes that take no body: nothing, or a small JSON object (`{}` from clients that always
 * send one), is fine; anything bigger is refused like an oversized body elsewhere.
 */
export async function readNoBody(event: H3Event): Promise<void> {
  const length = getRequestHeader(event, 'content-length')
  if ((length === undefined || length === '0') && !getRequestHeader(event, 'transfer-encoding')) return
  await readJsonBody(event, 1024)
}

export function withinDepth(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return true
  const stack: [object, number][] = [[value, 1]]
  while (stack.length) {
    const [node, depth] = stack.pop()!
    if (depth > max) return false
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return true
}
