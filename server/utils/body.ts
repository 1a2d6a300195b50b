/**
 * Reads a JSON request body with a byte limit, streaming, so an oversized body is refused
 * with 413 before it is held in memory, and malformed JSON is a 400 — both in the envelope.
 */
import { getRequestHeader, type H3Event } from 'h3'
import { apiError } from './errors'

export async function readJsonBody(event: H3Event, maxBytes: number): Promise<unknown> {
  const declared = Number(getRequestHeader(event, 'content-length') ?? Number.NaN)
  if (declared > maxBytes) throw tooLarge(maxBytes)
  const type = getRequestHeader(event, 'content-type') ?? ''
  if (type && !/^application\/(?:[\w.+-]*\+)?json\b/i.test(type)) {
    throw apiError('UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type application/json, got "${type}"`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of event.node.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge(maxBytes)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks, size).toString('utf8')
  if (!text.trim()) throw apiError('INVALID_JSON', 'The request body is empty; expected JSON')
  try {
    return JSON.parse(text)
  }
  catch (error) {
    throw apiError('INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`)
  }
}

function tooLarge(maxBytes: number) {
  return apiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${maxBytes} bytes`, { max_bytes: maxBytes })
}
