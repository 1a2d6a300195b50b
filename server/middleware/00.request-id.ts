/**
 * Request id: taken from a well-formed incoming `X-Request-Id` or generated, kept on the
 * event for logs and error envelopes, and echoed on every response.
 */
import { randomUUID } from 'node:crypto'

const acceptable = /^[\w.:-]{1,128}$/

export default defineEventHandler((event) => {
  const incoming = getRequestHeader(event, 'x-request-id')
  const id = incoming && acceptable.test(incoming) ? incoming : `req_${randomUUID().replaceAll('-', '').slice(0, 20)}`
  event.context.requestId = id
  setResponseHeader(event, 'X-Request-Id', id)
})
