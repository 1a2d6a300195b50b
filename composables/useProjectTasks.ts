/**
 * Every task of a project (`GET /api/tasks`, paged at 500), shared by the sections of the
 * project page that need them (workflow stages, burndown) under one key: one set of requests.
 * Stops after `MAX_TASKS`; `truncated` says so, and the sections say it too.
 */
import type { z } from 'zod'
import type { taskListResponse } from '~~/shared/responses'
import { dataKeys } from '~/utils/data-keys'

export type ProjectTask = z.output<typeof taskListResponse>['tasks'][number]
const PAGE = 500
const MAX_TASKS = 5000

export function useProjectTasks(projectId: () => string) {
  const api = useApi()
  return useAsyncData(() => `${dataKeys.projectTasks}:${projectId()}`, async () => {
    const tasks: ProjectTask[] = []
    let total = 0
    for (let offset = 0; offset < MAX_TASKS; offset += PAGE) {
      const page = await api.get<z.output<typeof taskListResponse>>('/api/tasks', { project_id: projectId(), limit: PAGE, offset })
      tasks.push(...page.tasks)
      total = page.total
      if (!page.has_more) break
    }
    return { tasks, total, truncated: tasks.length < total }
  }, { server: false })
}
