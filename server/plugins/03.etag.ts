/**
 * Conditional GETs for the API: every 200 JSON answer to a GET gets a weak ETag over its body,
 * and a request whose If-None-Match names it gets 304 without a body. `private, no-cache`:
 * a browser may keep the answer but must revalidate it, and shared caches never store it
 * (answers depend on the caller's credentials). A `JsonText` body is already serialised:
 * its text is what is tagged and sent.
 */
import { crc32 } from 'node:zlib'
import { etagMatches } from '../utils/headers'
import { JsonText } from '../utils/json-text'

function isPlainJson(body: unknown): body is Record<string, unknown> | unknown[] {
  if (body === null || typeof body !== 'object') return false
  if (Array.isArray(body)) return true
  const proto = Object.getPrototypeOf(body)
  return proto === Object.prototype || proto === null
}

export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('beforeResponse', (event, response) => {
    if (event.method !== 'GET' && event.method !== 'HEAD') return
    const body = response.body
    const text = body instanceof JsonText
    if (event.node.res.statusCode !== 200 || !(text || isPlainJson(body))) return
    if (!event.path.startsWith('/api')) return
    // Serialised and encoded once here (h3 would do it anyway): the tag is over the exact bytes
    // sent. A weak tag needs no cryptographic hash: the length and CRC-32 of the body (hardware
    // CRC, several times cheaper than SHA-1 on a 10 KB page) tell one answer of a URL from the
    // next, as an mtime and size do for a file server's tags.
    const bytes = Buffer.from(text ? body.json : JSON.stringify(body))
    const etag = `W/"${bytes.length.toString(36)}-${crc32(bytes).toString(36)}"`
    setResponseHeader(event, 'ETag', etag)
    setResponseHeader(event, 'Cache-Control', 'private, no-cache')
    if (etagMatches(getRequestHeader(event, 'if-none-match'), etag)) {
      setResponseStatus(event, 304)
      response.body = null
      return
    }
    setResponseHeader(event, 'Content-Type', 'application/json')
    response.body = bytes
  })
})
