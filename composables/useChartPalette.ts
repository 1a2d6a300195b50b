/** The chart colours of the current theme, from the CSS variables; follows theme changes. */
import { useMutationObserver, usePreferredDark } from '@vueuse/core'
import { type ChartPalette, fallbackPalette } from '~/utils/charts'

export function useChartPalette() {
  const palette = ref<ChartPalette>(fallbackPalette)
  const dark = usePreferredDark()
  function read() {
    const css = getComputedStyle(document.documentElement)
    const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback
    const f = fallbackPalette
    palette.value = { text: v('--text', f.text), muted: v('--muted', f.muted), border: v('--border', f.border), accent: v('--accent', f.accent), ok: v('--ok', f.ok), warn: v('--warn', f.warn), bad: v('--bad', f.bad) }
  }
  onMounted(read)
  watch(dark, () => nextTick(read))
  if (import.meta.client) useMutationObserver(document.documentElement, read, { attributes: true, attributeFilter: ['data-theme'] })
  return palette
}
