/**
 * The dashboard is a single-page app, so the renderer answers every path no route claims
 * with its HTML shell. Under `/api` that would turn an unknown route, or a known one called
 * with another method, into a 200 page; here those answer with the JSON 404 envelope instead.
 */
export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('render:before', ({ event }) => {
    const path = event.path.split('?')[0]!
    if (path === '/api' || path.startsWith('/api/')) {
      throw apiError('ROUTE_NOT_FOUND', `No route ${event.method} ${path}`, { method: event.method })
    }
  })
})
