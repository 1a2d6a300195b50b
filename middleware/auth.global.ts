/**
 * Pages need a signed-in credential, which lives in the browser's local storage: on the client,
 * a visit without one goes to /login. The server cannot see the credential, so it renders the
 * shell and leaves the decision to the browser.
 */
export default defineNuxtRouteMiddleware((to) => {
  if (import.meta.server || to.path === '/login') return
  const { credential, signInRoute } = useCredential()
  // Also when a request found the credential refused while this navigation was under way:
  // the sign-in page then still says why.
  if (!credential.value) return navigateTo(signInRoute())
})
