/**
 * While the server drains for a shutdown, requests that arrive on connections still open are
 * refused with 503 and Retry-After (nothing is done, so retrying elsewhere or later is safe).
 */
import { isDraining, RETRY_AFTER_S } from '../utils/shutdown'

export default defineEventHandler((event) => {
  if (!isDraining()) return
  setResponseHeader(event, 'Retry-After', RETRY_AFTER_S)
  setResponseHeader(event, 'Connection', 'close')
  throw apiError('SERVICE_UNAVAILABLE', `The server is shutting down; retry in ${RETRY_AFTER_S} s`, { retry_after_s: RETRY_AFTER_S })
})
