/** GET /api/openapi.json (open): this instance's API as OpenAPI 3.1, built once from the route registry (server/utils/openapi.ts). */
export default defineEventHandler(() => openApiDocument())
