import { eventListQuery } from '../../../shared/records'

/** The ordered event log: page with `since_seq` = the previous page's `next_seq`. */
export default defineEventHandler(event => listEvents(validQuery(event, eventListQuery)))
