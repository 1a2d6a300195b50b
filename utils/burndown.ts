/**
 * A project's burndown from its tasks (`GET /api/tasks`): at each point in time, the tasks
 * that existed and were not done yet, and the estimated hours they held. Rebuilt in the
 * browser from each task's `created_at` and `completed_at`, so it needs no endpoint of its own.
 */
export type BurndownTask = { created_at: string, completed_at: string | null, status: string, estimated_hours: number | null }
export type BurndownPoint = { at: number, open: number, hours: number, done: number }
export type Burndown = { points: BurndownPoint[], start: number, end: number, total: number, openNow: number }

/** Done tasks without a completion time (cancelled, or done before their history was kept) leave at their last known moment: never. */
const DONE = new Set(['done', 'completed'])

/** Activity this recent means the project is being worked on: the chart runs on to now. */
const LIVE_MS = 86_400_000

/**
 * `buckets` evenly spaced points from the first task's creation to the latest creation or
 * completion — an imported session ends where its log ends, not today — or to `now` when
 * that activity is less than a day old.
 */
export function buildBurndown(tasks: BurndownTask[], buckets = 40, now = Date.now()): Burndown | null {
  const rows = tasks
    .map(t => ({ created: Date.parse(t.created_at), completed: t.completed_at && DONE.has(t.status) ? Date.parse(t.completed_at) : null, hours: t.estimated_hours ?? 0 }))
    .filter(t => !Number.isNaN(t.created))
  if (!rows.length) return null
  const start = Math.min(...rows.map(t => t.created))
  const last = Math.max(...rows.map(t => Math.max(t.created, t.completed ?? 0)))
  const stop = Math.max(now - last < LIVE_MS && now > last ? now : last, start + 1)
  const n = Math.max(2, buckets)
  const step = (stop - start) / (n - 1)
  const points: BurndownPoint[] = []
  for (let i = 0; i < n; i++) {
    const at = i === n - 1 ? stop : start + i * step
    let open = 0
    let hours = 0
    let done = 0
    for (const t of rows) {
      if (t.created > at) continue
      if (t.completed !== null && t.completed <= at) done++
      else {
        open++
        hours += t.hours
      }
    }
    points.push({ at, open, hours: Math.round(hours * 100) / 100, done })
  }
  return { points, start, end: stop, total: rows.length, openNow: points.at(-1)!.open }
}
