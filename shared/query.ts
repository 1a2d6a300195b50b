/** Query-string parameter schemas shared by every list endpoint. */
import { z } from 'zod'

/** A query-string integer: digits only (no `1e3`, no `5.5`, no blanks), within bounds. */
export function intParam(name: string, fallback: number, min: number, max: number) {
  return z.string()
    .regex(/^-?\d{1,15}$/, `${name} must be an integer`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
    .default(fallback)
}

/** ISO-8601 (`2025-07-14`, `2025-07-14T11:15:30Z`) or epoch milliseconds; normalised to epoch ms. */
export const timeParam = z.string()
  .refine(s => /^\d{1,15}$/.test(s) || (/^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s))),
    'expected an ISO-8601 timestamp or epoch milliseconds')
  .transform(s => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)))
  .describe('ISO-8601 (`2025-07-14`, `2025-07-14T11:15:30Z`) or epoch milliseconds')

export const idParam = z.string().min(1).max(256)
