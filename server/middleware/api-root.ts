/**
 * `/api` itself is no route; without this the single-page app's fallback would answer it with
 * the dashboard's HTML. The catch-all `server/api/[...path].ts` covers everything below it.
 */
export default defineEventHandler((event) => {
  const path = event.path.split('?')[0]
  if (path === '/api' || path === '/api/') {
    throw apiError('ROUTE_NOT_FOUND', `No route ${event.method} ${path}`, { method: event.method })
  }
})
