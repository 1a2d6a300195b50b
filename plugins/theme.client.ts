/**
 * Applies the theme the person chose (LayoutThemeToggle) before the app mounts. Without a
 * choice, CSS follows prefers-color-scheme. An inline head script would be earlier, but the
 * Content-Security-Policy only lets scripts with the server's nonce run inline.
 */
import { THEME_STORAGE_KEY } from '~/utils/theme'

export default defineNuxtPlugin(() => {
  try {
    const theme = localStorage.getItem(THEME_STORAGE_KEY)
    if (theme === 'dark' || theme === 'light') document.documentElement.dataset.theme = theme
  }
  catch { /* storage disabled: follow the system */ }
})
