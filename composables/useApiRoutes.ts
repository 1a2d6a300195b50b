/**
 * Which API routes this server has, from its own OpenAPI document (fetched once per session).
 * Pages whose module may not be deployed yet (costs, insights, context) ask here first and
 * say "not available" instead of firing requests at routes that do not exist.
 *
 *   const routes = useApiRoutes()
 *   if (await routes.has('/api/costs/summary')) …        // exact path (OpenAPI form: /api/x/{id})
 *   if (await routes.hasPrefix('/api/insights')) …
 */
let pending: Promise<Set<string>> | null = null

export function useApiRoutes() {
  const known = useState<string[] | null>('api-routes', () => null)
  const api = useApi()

  async function load(): Promise<Set<string>> {
    if (known.value) return new Set(known.value)
    pending ??= api.get<{ paths: Record<string, unknown> }>('/api/openapi.json')
      .then(doc => new Set(Object.keys(doc.paths ?? {})))
      .finally(() => (pending = null))
    const paths = await pending
    known.value = [...paths]
    return paths
  }

  return {
    has: async (path: string) => (await load()).has(path),
    hasPrefix: async (prefix: string) => [...await load()].some(p => p === prefix || p.startsWith(`${prefix}/`)),
  }
}
