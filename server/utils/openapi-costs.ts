/** The API registry's entries for the Costs routes (see openapi.ts for how an entry reads). */
import type { ApiRoute } from './openapi-spec'

export const costRoutes: ApiRoute[] = []
