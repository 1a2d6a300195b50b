/**
 * The operator's credential (an API key or a JWT), kept in the browser's local storage and
 * sent as a bearer token with API calls.
 */
const STORAGE_KEY = 'seneca.credential'

export function useCredential() {
  const credential = useState<string | null>('credential', () => null)
  if (import.meta.client && credential.value === null) credential.value = localStorage.getItem(STORAGE_KEY)

  function signIn(value: string) {
    credential.value = value.trim()
    localStorage.setItem(STORAGE_KEY, credential.value)
  }

  function signOut() {
    credential.value = null
    localStorage.removeItem(STORAGE_KEY)
  }

  return { credential, signIn, signOut }
}
