/** Unknown `/api` routes answer with the envelope, not a page. */
export default defineEventHandler((event) => {
  throw apiError('ROUTE_NOT_FOUND', `No route ${event.method} ${event.path.split('?')[0]}`, { method: event.method })
})
