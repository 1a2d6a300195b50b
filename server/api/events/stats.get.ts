import { eventStatsQuery } from '../../../shared/records'

export default defineEventHandler(event => eventStats(validQuery(event, eventStatsQuery).project_id))
