/**
 * Typed access to Seneca's HTTP API from the dashboards.
 *
 *   const api = useApi()
 *   const agents = await api.get<AgentList>('/api/agents', { project_id: 'shop' })
 *   await api.post<CommandIssued>(`/api/agents/${id}/commands`, { command: 'pause_processing' })
 *   await api.del(`/api/keys/${keyId}`)
 *
 * Every call sends the signed-in credential as a bearer token. A failure throws `ApiError`
 * with the envelope's `code` and `message` (show `error.message` to people as is). A 401 —
 * an expired token or a revoked key — signs out and returns to /login?expired=1.
 * For data a section shows, prefer `useApiData(key, path, query)`: client-side fetch with
 * a key from utils/api-keys.ts, `pending`/`error`/`refresh`, refetch when the query changes.
 */
export type Query = Record<string, string | number | boolean | null | undefined>

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'ApiError'
  }

  /** The name Nuxt's error objects use, so `useAsyncData` errors keep the status. */
  get statusCode() {
    return this.status
  }
}

function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  const s = params.toString()
  return s ? `?${s}` : ''
}

export function useApi() {
  const { credential, signOut } = useCredential()

  async function request<T>(method: string, path: string, options: { query?: Query, body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (credential.value) headers.authorization = `Bearer ${credential.value}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(path + queryString(options.query), { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) })
    }
    catch {
      throw new ApiError(0, 'NETWORK', 'The server cannot be reached')
    }
    const text = await res.text()
    let body: unknown = null
    try {
      body = text ? JSON.parse(text) : null
    }
    catch { /* not JSON: reported below by status */ }
    if (res.ok) return body as T
    const envelope = (body as { error?: { code?: string, message?: string, details?: Record<string, unknown> } } | null)?.error
    const error = new ApiError(res.status, envelope?.code ?? `HTTP_${res.status}`, envelope?.message ?? `Request failed (${res.status})`, envelope?.details)
    if (res.status === 401) {
      signOut(true)
      await navigateTo({ path: '/login', query: { expired: '1' } })
    }
    throw error
  }

  return {
    get: <T>(path: string, query?: Query) => request<T>('GET', path, { query }),
    post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} }),
    put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
    del: <T>(path: string) => request<T>('DELETE', path),
  }
}

/**
 * A section's server data: fetched in the browser (the credential lives there), keyed by
 * `key` plus the query, so two sections asking the same thing share one request and a changed
 * query refetches. `error.value.message` is the envelope's message.
 */
export function useApiData<T>(key: string, path: string | (() => string), query?: () => Query) {
  const api = useApi()
  const resolvedPath = () => (typeof path === 'function' ? path() : path)
  const fullKey = computed(() => `${key}:${resolvedPath()}:${JSON.stringify(query?.() ?? {})}`)
  return useAsyncData<T>(fullKey, () => api.get<T>(resolvedPath(), query?.()), { server: false })
}
