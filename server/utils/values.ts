/** Small value helpers shared by the read models. */

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** A JSON text column, or `fallback` when it is empty or not valid JSON. */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null || text === '') return fallback
  try {
    return (JSON.parse(text) as T) ?? fallback
  }
  catch {
    return fallback
  }
}
