/**
 * Who the signed-in credential is (`GET /api/me`), fetched once per credential, so pages
 * offer only what it may use instead of firing requests that end in 403.
 *
 *   const me = await useMe().load()       // { role, projects, … }
 *   if (me.role === 'admin') …
 */
import type { Me } from '~~/shared/dashboards'

let pending: { credential: string | null, me: Promise<Me> } | null = null

export function useMe() {
  const api = useApi()
  const { credential } = useCredential()
  return {
    load(): Promise<Me> {
      if (!pending || pending.credential !== credential.value) {
        const me = api.get<Me>('/api/me')
        me.catch(() => (pending = null))
        pending = { credential: credential.value, me }
      }
      return pending.me
    },
  }
}
