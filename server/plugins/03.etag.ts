/**
 * Conditional GETs for the API: every 200 JSON answer to a GET gets a weak ETag over its body,
 * and a request whose If-None-Match names it gets 304 without a body. `private, no-cache`:
 * a browser may keep the answer but must revalidate it, and shared caches never store it
 * (answers depend on the caller's credentials). A `JsonText` body is already serialised:
 * its text is what is tagged and sent.
 */
import { hash } from 'node:crypto'
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
    // sent, and hashing bytes is cheaper than hashing a string (which encodes it again).
    const bytes = Buffer.from(text ? body.json : JSON.stringify(body))
    const etag = `W/"${hash('sha1', bytes, 'base64url')}"`
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
