/**
 * The operator's credential (an API key or a JWT), kept in the browser's local storage and
 * sent as a bearer token with API calls.
 */
const STORAGE_KEY = 'seneca.credential'

export function useCredential() {
  const credential = useState<string | null>('credential', () => null)
  /** The last sign-out was the server refusing the credential (expired token, revoked key). */
  const expired = useState<boolean>('credential-expired', () => false)
  if (import.meta.client && credential.value === null) credential.value = localStorage.getItem(STORAGE_KEY)

  function signIn(value: string) {
    credential.value = value.trim()
    expired.value = false
    localStorage.setItem(STORAGE_KEY, credential.value)
  }

  /** `refused`: the server no longer accepts the credential, which the sign-in page says. */
  function signOut(refused = false) {
    credential.value = null
    expired.value = refused
    localStorage.removeItem(STORAGE_KEY)
  }

  /** Where a visitor without a credential goes. */
  const signInRoute = () => (expired.value ? { path: '/login', query: { expired: '1' } } : { path: '/login' })

  return { credential, expired, signIn, signOut, signInRoute }
}
