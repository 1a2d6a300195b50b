/** Formatting of numbers, money, durations and times: defined once for every page. */

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—'
  return Math.abs(n) >= 100_000 ? compact.format(n) : integer.format(n)
}

export function formatTokens(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `${compact.format(n)} tokens`
}

export function formatMoney(amount: number | null | undefined, currency = 'USD'): string {
  if (amount === null || amount === undefined) return '—'
  return new Intl.NumberFormat('en', { style: 'currency', currency, maximumFractionDigits: amount < 1 ? 4 : 2 }).format(amount)
}

export function formatPercent(ratio: number | null | undefined, digits = 0): string {
  if (ratio === null || ratio === undefined) return '—'
  return `${(ratio * 100).toFixed(digits)}%`
}

/** 850 ms, 12.4 s, 3 min 20 s, 2 h 5 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** "12 s ago", "3 min ago", "in 2 h", or the date when far away. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const diff = now - t
  const abs = Math.abs(diff)
  if (abs > 7 * 86_400_000) return formatDateTime(iso).slice(0, 16)
  const text = abs < 1000 ? 'now' : formatDuration(abs).replace(/ \d+ (s|min)$/, '')
  if (text === 'now') return 'just now'
  return diff >= 0 ? `${text} ago` : `in ${text}`
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19)
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23)
}

const windows: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 }

/** A time window of the filters (`1h`, `24h`, `7d`, `30d`) as the ISO time it starts; undefined for "any time". */
export function sinceOf(window: string, now = Date.now()): string | undefined {
  const span = windows[window]
  return span ? new Date(now - span).toISOString() : undefined
}
