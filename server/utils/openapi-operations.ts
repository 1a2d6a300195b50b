/** The API registry's entries for the Operations routes (see openapi.ts for how an entry reads). */
import { backupCreatedResponse, backupListResponse, backupNameParams, maintenanceResponse } from '../../shared/operations'
import { type ApiRoute, json } from './openapi-spec'

export const operationRoutes: ApiRoute[] = [
  {
    method: 'post', path: '/api/admin/backups', operationId: 'createBackup', tag: 'Operations', summary: 'Back up the database (online)',
    description: 'Copies the database with SQLite\'s online backup API into the backups folder (SENECA_BACKUP_DIR, default `<data dir>/backups`). '
      + 'The copy is one consistent state even while ingest goes on; download it with the returned `download` path.',
    responses: { 201: json('The backup, complete', backupCreatedResponse) },
    errors: ['PAYLOAD_TOO_LARGE', 'INVALID_JSON'],
  },
  {
    method: 'get', path: '/api/admin/backups', operationId: 'listBackups', tag: 'Operations', summary: 'List backups, newest first',
    responses: { 200: json('The backups folder and its backups', backupListResponse) },
  },
  {
    method: 'get', path: '/api/admin/backups/{name}', operationId: 'downloadBackup', tag: 'Operations', summary: 'Download a backup',
    description: 'The SQLite file itself; restore it with `seneca restore <file>` while the server is stopped.',
    params: backupNameParams,
    responses: { 200: { description: 'The SQLite database file', mediaType: 'application/vnd.sqlite3' } },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post', path: '/api/admin/maintenance', operationId: 'runMaintenance', tag: 'Operations', summary: 'Run retention and database upkeep now',
    description: 'Deletes what the retention settings (SENECA_RETENTION_*) no longer keep, in small batches, then vacuums (if SENECA_VACUUM) and checkpoints the WAL. '
      + 'The same pass runs every SENECA_RETENTION_INTERVAL_MS.',
    responses: { 200: json('What the pass did', maintenanceResponse) },
    errors: ['PAYLOAD_TOO_LARGE', 'INVALID_JSON'],
  },
]
