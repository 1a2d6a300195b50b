/**
 * Windowing for long lists of fixed-height rows: only the rows in view (plus `overscan`)
 * are rendered, so a thread of 100,000 messages costs what 40 rows cost. The scroller is
 * the element bound to `scroller`; its content is a spacer of `totalHeight`. Render `slots`
 * keyed by `slot.key`, each absolutely placed at `slot.index * rowHeight`: a slot keeps its
 * DOM as rows scroll through it (row i lives in slot i mod pool), so scrolling patches text
 * instead of creating and destroying elements.
 */
import { useResizeObserver } from '@vueuse/core'
import type { Ref } from 'vue'

/** `version`: bump it after changing `items` in place (a push into a 100,000-row array, without copying it). */
export function useWindowedList<T>(items: Ref<readonly T[]>, rowHeight: number, options: { overscan?: number, version?: Ref<number> } = {}) {
  const overscan = options.overscan ?? 12
  const length = computed(() => (options.version?.value, items.value.length))
  const scroller = ref<HTMLElement | null>(null)
  const scrollTop = ref(0)
  const viewport = ref(600)

  const start = computed(() => Math.max(0, Math.floor(scrollTop.value / rowHeight) - overscan))
  const end = computed(() => Math.min(length.value, Math.ceil((scrollTop.value + viewport.value) / rowHeight) + overscan))
  const visible = computed(() => (options.version?.value, items.value).slice(start.value, end.value).map((item, i) => ({ item, index: start.value + i })))
  const totalHeight = computed(() => length.value * rowHeight)
  const offset = computed(() => start.value * rowHeight)
  const pool = computed(() => Math.ceil(viewport.value / rowHeight) + 2 * overscan + 2)
  const slots = computed(() => {
    const n = pool.value
    const list = (options.version?.value, items.value)
    const out: { key: number, item: T | null, index: number }[] = Array.from({ length: n }, (_, key) => ({ key, item: null, index: -1 }))
    for (let i = start.value; i < end.value; i++) out[i % n] = { key: i % n, item: list[i]!, index: i }
    return out
  })

  function measure() {
    const el = scroller.value
    if (!el) return
    scrollTop.value = el.scrollTop
    viewport.value = el.clientHeight
  }
  // One measurement per frame however many scroll events arrive.
  let frame = 0
  function onScroll() {
    if (frame) return
    frame = requestAnimationFrame(() => {
      frame = 0
      measure()
    })
  }
  useResizeObserver(scroller, measure)

  function isAtBottom(): boolean {
    const el = scroller.value
    return !el || el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight
  }
  function scrollToBottom() {
    const el = scroller.value
    if (!el) return
    el.scrollTop = el.scrollHeight
    measure()
  }
  /** Keeps the rows in view where they are after `rows` rows were inserted above them. */
  function shiftBy(rows: number) {
    const el = scroller.value
    if (!el) return
    el.scrollTop += rows * rowHeight
    measure()
  }
  function scrollToIndex(index: number) {
    const el = scroller.value
    if (!el) return
    const top = index * rowHeight
    if (top < el.scrollTop) el.scrollTop = top
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight
    measure()
  }

  return { scroller, visible, slots, totalHeight, offset, onScroll, isAtBottom, scrollToBottom, shiftBy, scrollToIndex, measure }
}
