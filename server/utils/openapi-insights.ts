/** The API registry's entries for the Memory, patterns and context routes (see openapi.ts for how an entry reads). */
import type { ApiRoute } from './openapi-spec'

export const insightRoutes: ApiRoute[] = []
