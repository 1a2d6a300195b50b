/**
 * Starting workflows for new projects: stages of tasks with estimates, the capability each
 * task needs, and dependencies. Creating a project from a template creates these tasks.
 */
export type TemplateTask = { key: string, name: string, hours: number, capability: string, dependsOn?: string[] }
export type TemplateStage = { id: string, name: string, tasks: TemplateTask[] }

const t = (key: string, name: string, hours: number, capability: string, dependsOn: string[] = []): TemplateTask => ({ key, name, hours, capability, dependsOn })

export const projectTemplates: Record<string, TemplateStage[]> = {
  web_app: [
    { id: 'planning', name: 'Planning & Design', tasks: [t('requirements', 'Gather requirements and acceptance criteria', 4, 'planning'), t('architecture', 'Choose architecture and stack', 6, 'backend', ['requirements'])] },
    { id: 'design', name: 'Design', tasks: [t('wireframes', 'UI wireframes and component library', 6, 'frontend', ['requirements']), t('api_design', 'API design (OpenAPI)', 4, 'backend', ['architecture'])] },
    { id: 'development', name: 'Development', tasks: [
      t('database', 'Database schema and migrations', 8, 'database', ['architecture']),
      t('backend', 'Backend endpoints', 16, 'backend', ['api_design', 'database']),
      t('frontend', 'Frontend pages', 16, 'frontend', ['wireframes', 'api_design']),
    ] },
    { id: 'testing', name: 'Testing', tasks: [t('integration_tests', 'Integration tests', 8, 'testing', ['backend']), t('e2e_tests', 'End-to-end tests', 6, 'testing', ['frontend', 'backend'])] },
    { id: 'deployment', name: 'Deployment', tasks: [t('ci_cd', 'CI/CD pipeline', 4, 'infrastructure', ['integration_tests']), t('release', 'Release to production', 2, 'infrastructure', ['ci_cd', 'e2e_tests'])] },
  ],
  mobile_app: [
    { id: 'planning', name: 'Planning & Design', tasks: [t('requirements', 'Gather requirements and platform targets', 4, 'planning'), t('ux', 'UX flows and screens', 8, 'frontend', ['requirements'])] },
    { id: 'development', name: 'Development', tasks: [
      t('app_shell', 'App shell, navigation and state', 10, 'frontend', ['ux']),
      t('backend_api', 'Backend API for the app', 12, 'backend', ['requirements']),
      t('screens', 'Feature screens', 20, 'frontend', ['app_shell', 'backend_api']),
      t('offline', 'Offline storage and sync', 8, 'frontend', ['app_shell']),
    ] },
    { id: 'testing', name: 'Testing', tasks: [t('device_tests', 'Device and OS matrix tests', 8, 'testing', ['screens', 'offline'])] },
    { id: 'release', name: 'Store Release', tasks: [t('store_assets', 'Store listings and assets', 3, 'design', ['screens']), t('submit', 'Submit to app stores', 2, 'infrastructure', ['device_tests', 'store_assets'])] },
  ],
  api_service: [
    { id: 'design', name: 'API Design', tasks: [t('contract', 'API contract (OpenAPI)', 6, 'backend'), t('data_model', 'Data model', 4, 'database', ['contract'])] },
    { id: 'development', name: 'Development', tasks: [
      t('endpoints', 'Endpoints and validation', 16, 'backend', ['contract', 'data_model']),
      t('auth', 'Authentication and authorisation', 8, 'security', ['contract']),
      t('rate_limits', 'Rate limits and quotas', 4, 'backend', ['endpoints']),
    ] },
    { id: 'testing', name: 'Testing', tasks: [t('contract_tests', 'Contract tests', 6, 'testing', ['endpoints', 'auth']), t('load_tests', 'Load tests', 4, 'testing', ['rate_limits'])] },
    { id: 'deployment', name: 'Deployment', tasks: [t('observability', 'Metrics, logs and alerts', 4, 'infrastructure', ['endpoints']), t('deploy', 'Deploy to production', 2, 'infrastructure', ['contract_tests', 'load_tests', 'observability'])] },
  ],
  data_pipeline: [
    { id: 'ingestion', name: 'Ingestion', tasks: [t('sources', 'Connect data sources', 8, 'data'), t('schema', 'Schemas and contracts', 4, 'data', ['sources'])] },
    { id: 'processing', name: 'Processing', tasks: [
      t('transforms', 'Transformations', 12, 'data', ['schema']),
      t('quality', 'Data quality checks', 6, 'testing', ['schema']),
      t('orchestration', 'Orchestration and scheduling', 6, 'infrastructure', ['transforms']),
    ] },
    { id: 'serving', name: 'Serving', tasks: [t('warehouse', 'Warehouse tables', 6, 'database', ['transforms']), t('dashboards', 'Dashboards', 6, 'analytics', ['warehouse'])] },
    { id: 'operations', name: 'Operations', tasks: [t('monitoring', 'Pipeline monitoring and alerts', 4, 'infrastructure', ['orchestration', 'quality']), t('backfill', 'Historical backfill', 4, 'data', ['warehouse', 'monitoring'])] },
  ],
}

export const templateNames = Object.keys(projectTemplates) as [string, ...string[]]

/** The label that places a task in a workflow stage. */
export const STAGE_LABEL = 'stage:'
