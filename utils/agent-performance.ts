/** Figures for an agent's performance charts, from its tasks. Pure, so they are unit-tested. */

type Task = { name: string, status: string, started_at: string | null, completed_at: string | null, estimated_hours: number | null }

/** Tasks completed per UTC day, every day from the first to the last completion (gaps as 0). */
export function completionsPerDay(tasks: Task[]): { label: string, value: number }[] {
  const days = new Map<string, number>()
  for (const t of tasks) if (t.status === 'done' && t.completed_at) {
    const day = t.completed_at.slice(0, 10)
    days.set(day, (days.get(day) ?? 0) + 1)
  }
  if (!days.size) return []
  const sorted = [...days.keys()].sort()
  const out: { label: string, value: number }[] = []
  for (let d = Date.parse(sorted[0]!); d <= Date.parse(sorted.at(-1)!); d += 86_400_000) {
    const label = new Date(d).toISOString().slice(0, 10)
    out.push({ label, value: days.get(label) ?? 0 })
  }
  return out
}

/** Actual against estimated hours of finished tasks, in completion order (the latest `limit`). */
export function estimateVsActual(tasks: Task[], limit = 30): { label: string, estimated: number | null, actual: number }[] {
  return tasks
    .filter(t => t.status === 'done' && t.started_at && t.completed_at)
    .sort((a, b) => a.completed_at!.localeCompare(b.completed_at!))
    .slice(-limit)
    .map(t => ({ label: t.name, estimated: t.estimated_hours, actual: (Date.parse(t.completed_at!) - Date.parse(t.started_at!)) / 3_600_000 }))
}
