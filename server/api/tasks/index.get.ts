import { taskListQuery } from '../../../shared/records'

export default defineEventHandler((event) => {
  const query = validQuery(event, taskListQuery)
  return listTasks(query, scopeFor(event, query.project_id))
})
