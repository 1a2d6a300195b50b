/** The API registry's entries for the routes the dashboards added (see openapi.ts for how an entry reads). */
import { communicationGraphQuery, communicationGraphResponse, meResponse } from '../../shared/dashboards'
import { type ApiRoute, json } from './openapi-spec'

export const dashboardRoutes: ApiRoute[] = [
  {
    method: 'get', path: '/api/conversations/graph', operationId: 'getCommunicationGraph', tag: 'Conversations', summary: 'Who talks to whom',
    description: 'Messages grouped by sender and recipient within the filters (and the caller\'s projects): one edge per pair, '
      + 'weighted by messages, with the error messages and the mean response time on it; messages without a recipient go to `*`.',
    query: communicationGraphQuery,
    responses: { 200: json('Nodes and edges, heaviest edges first', communicationGraphResponse) },
  },
  {
    method: 'get', path: '/api/me', operationId: 'getMe', tag: 'Access', summary: 'Who the credential is',
    description: 'The caller\'s identity, role and projects, so a client (the dashboards) offers only what the credential may use.',
    responses: { 200: json('The caller', meResponse) },
  },
]
