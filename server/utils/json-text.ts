/**
 * A response body already serialised as JSON. A hot read builds its answer's text directly
 * (no objects to build and stringify); the ETag plugin sends these exact bytes and tags them.
 * `T` is the shape the text encodes, so routes still state their response type.
 */
export class JsonText<T = unknown> {
  declare readonly shape?: T
  constructor(readonly json: string) {}

  /** The value itself, for any path that serialises the body again (same bytes: the text is canonical JSON). */
  toJSON(): T {
    return this.value()
  }

  /** The value, for callers that want objects rather than text. */
  value(): T {
    return JSON.parse(this.json) as T
  }
}

/** Strings JSON writes as they are (no character needs escaping): most ids and names. */
const PLAIN = /^[\w .:@/+-]*$/

/** `JSON.stringify` of a string or null (a JSON string literal or `null`); a plain string is quoted without scanning it twice. */
export function jsonString(value: string | null): string {
  if (value === null) return 'null'
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
}
