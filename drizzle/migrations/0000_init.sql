CREATE TABLE `agent_commands` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`project_id` text NOT NULL,
	`command` text NOT NULL,
	`parameters` text,
	`status` text NOT NULL,
	`issued_by` text,
	`result` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `agent_commands_agent_status_idx` ON `agent_commands` (`agent_id`,`status`);--> statement-breakpoint
CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`type` text,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`status` text DEFAULT 'idle' NOT NULL,
	`status_reason` text,
	`current_task_id` text,
	`paused` integer DEFAULT false NOT NULL,
	`registered_at` integer NOT NULL,
	`last_heartbeat_at` integer,
	`last_active_at` integer NOT NULL,
	`tasks_completed` integer DEFAULT 0 NOT NULL,
	`tasks_failed` integer DEFAULT 0 NOT NULL,
	`error_count` integer DEFAULT 0 NOT NULL,
	`kind` text DEFAULT 'agent' NOT NULL,
	`metadata` text
);
--> statement-breakpoint
CREATE INDEX `agents_project_idx` ON `agents` (`project_id`,`status`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`severity` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`subject_id` text,
	`details` text,
	`ts` integer NOT NULL,
	`acknowledged_at` integer
);
--> statement-breakpoint
CREATE INDEX `alerts_project_ts_idx` ON `alerts` (`project_id`,`ts`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`role` text NOT NULL,
	`projects` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `artifacts` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`task_id` text,
	`agent_id` text,
	`name` text NOT NULL,
	`artifact_type` text,
	`location` text,
	`description` text,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `artifacts_project_idx` ON `artifacts` (`project_id`,`ts`);--> statement-breakpoint
CREATE INDEX `artifacts_task_idx` ON `artifacts` (`task_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`principal` text,
	`action` text NOT NULL,
	`project_id` text,
	`target` text,
	`result` text NOT NULL,
	`request_id` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_ts_idx` ON `audit_log` (`ts`);--> statement-breakpoint
CREATE INDEX `audit_log_project_idx` ON `audit_log` (`project_id`,`ts`);--> statement-breakpoint
CREATE TABLE `blockers` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`task_id` text,
	`agent_id` text,
	`severity` text DEFAULT 'medium' NOT NULL,
	`description` text NOT NULL,
	`suggested_solutions` text,
	`status` text DEFAULT 'open' NOT NULL,
	`reported_at` integer NOT NULL,
	`resolved_at` integer,
	`resolution` text
);
--> statement-breakpoint
CREATE INDEX `blockers_project_status_idx` ON `blockers` (`project_id`,`status`);--> statement-breakpoint
CREATE INDEX `blockers_task_idx` ON `blockers` (`task_id`);--> statement-breakpoint
CREATE TABLE `budgets` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text,
	`scope` text NOT NULL,
	`scope_id` text NOT NULL,
	`period` text NOT NULL,
	`limit_usd` real NOT NULL,
	`warning_ratio` real DEFAULT 0.8 NOT NULL,
	`action` text DEFAULT 'alert' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `budgets_project_idx` ON `budgets` (`project_id`);--> statement-breakpoint
CREATE TABLE `connector_state` (
	`connector` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`connector`, `key`)
);
--> statement-breakpoint
CREATE TABLE `conversation_participants` (
	`participant` text NOT NULL,
	`conversation_id` text NOT NULL,
	`project_id` text NOT NULL,
	PRIMARY KEY(`participant`, `conversation_id`)
);
--> statement-breakpoint
CREATE INDEX `conversation_participants_conv_idx` ON `conversation_participants` (`conversation_id`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text,
	`participants` text DEFAULT '[]' NOT NULL,
	`type` text DEFAULT 'direct' NOT NULL,
	`title` text,
	`closed_at` integer,
	`started_at` integer NOT NULL,
	`last_activity` integer NOT NULL,
	`message_count` integer DEFAULT 0 NOT NULL,
	`error_count` integer DEFAULT 0 NOT NULL,
	`pending_sender` text,
	`pending_at` integer
);
--> statement-breakpoint
CREATE INDEX `conversations_project_activity_idx` ON `conversations` (`project_id`,`last_activity`,`id`);--> statement-breakpoint
CREATE INDEX `conversations_activity_idx` ON `conversations` (`last_activity`,`id`);--> statement-breakpoint
CREATE INDEX `conversations_agent_activity_idx` ON `conversations` (`agent_id`,`last_activity`,`id`);--> statement-breakpoint
CREATE TABLE `cost_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text,
	`task_id` text,
	`provider` text,
	`model` text NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real,
	`cost_source` text NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cost_events_event_uq` ON `cost_events` (`event_id`);--> statement-breakpoint
CREATE INDEX `cost_events_project_ts_idx` ON `cost_events` (`project_id`,`ts`);--> statement-breakpoint
CREATE INDEX `cost_events_agent_ts_idx` ON `cost_events` (`agent_id`,`ts`);--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text,
	`task_id` text,
	`decision` text NOT NULL,
	`rationale` text,
	`alternatives` text,
	`confidence` real,
	`factors` text,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `decisions_project_ts_idx` ON `decisions` (`project_id`,`ts`);--> statement-breakpoint
CREATE INDEX `decisions_task_idx` ON `decisions` (`task_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`project_id` text NOT NULL,
	`ts` integer NOT NULL,
	`received_at` integer NOT NULL,
	`source` text NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_id_uq` ON `events` (`id`);--> statement-breakpoint
CREATE INDEX `events_project_seq_idx` ON `events` (`project_id`,`seq`);--> statement-breakpoint
CREATE TABLE `message_rollups` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`hour` integer NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`responses` integer DEFAULT 0 NOT NULL,
	`response_ms_sum` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `hour`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `message_rollups_hour_idx` ON `message_rollups` (`hour`);--> statement-breakpoint
CREATE TABLE `messages` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`project_id` text NOT NULL,
	`sender` text NOT NULL,
	`recipient` text,
	`content` text NOT NULL,
	`message_type` text NOT NULL,
	`ts` integer NOT NULL,
	`metadata` text,
	`response_time_ms` integer,
	`event_seq` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_id_uq` ON `messages` (`id`);--> statement-breakpoint
CREATE INDEX `messages_conversation_ts_idx` ON `messages` (`conversation_id`,`ts`,`seq`);--> statement-breakpoint
CREATE INDEX `messages_sender_ts_idx` ON `messages` (`sender`,`ts`);--> statement-breakpoint
CREATE TABLE `model_prices` (
	`id` integer PRIMARY KEY NOT NULL,
	`project_id` text,
	`provider` text,
	`model_pattern` text NOT NULL,
	`input_per_mtok` real NOT NULL,
	`output_per_mtok` real NOT NULL,
	`cache_read_per_mtok` real,
	`cache_write_per_mtok` real,
	`effective_from` integer NOT NULL,
	`builtin` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `model_prices_pattern_idx` ON `model_prices` (`model_pattern`);--> statement-breakpoint
CREATE TABLE `pipeline_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`pipeline_id` text NOT NULL,
	`project_id` text NOT NULL,
	`status` text NOT NULL,
	`trigger` text,
	`parameters` text,
	`notifications` text,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `pipeline_runs_pipeline_idx` ON `pipeline_runs` (`pipeline_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `pipeline_stage_runs` (
	`run_id` text NOT NULL,
	`stage_id` text NOT NULL,
	`project_id` text NOT NULL,
	`status` text NOT NULL,
	`agent_id` text,
	`task_id` text,
	`progress` real DEFAULT 0 NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`error` text,
	PRIMARY KEY(`run_id`, `stage_id`)
);
--> statement-breakpoint
CREATE TABLE `pipelines` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`stages` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pipelines_project_idx` ON `pipelines` (`project_id`);--> statement-breakpoint
CREATE TABLE `projects` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`status` text DEFAULT 'active' NOT NULL,
	`provider` text,
	`template` text,
	`configuration` text,
	`team_requirements` text,
	`features` text,
	`tags` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `task_dependencies` (
	`task_id` text NOT NULL,
	`depends_on` text NOT NULL,
	`project_id` text NOT NULL,
	PRIMARY KEY(`task_id`, `depends_on`)
);
--> statement-breakpoint
CREATE INDEX `task_dependencies_dep_idx` ON `task_dependencies` (`depends_on`);--> statement-breakpoint
CREATE TABLE `task_history` (
	`seq` integer PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text,
	`action` text NOT NULL,
	`status` text,
	`progress` real,
	`note` text,
	`ts` integer NOT NULL,
	`event_seq` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_history_task_idx` ON `task_history` (`task_id`,`ts`);--> statement-breakpoint
CREATE INDEX `task_history_agent_idx` ON `task_history` (`agent_id`,`ts`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`status` text DEFAULT 'todo' NOT NULL,
	`priority` text,
	`assigned_agent_id` text,
	`progress` real DEFAULT 0 NOT NULL,
	`estimated_hours` real,
	`labels` text DEFAULT '[]' NOT NULL,
	`pipeline_run_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	`due_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_project_status_idx` ON `tasks` (`project_id`,`status`);--> statement-breakpoint
CREATE INDEX `tasks_agent_idx` ON `tasks` (`assigned_agent_id`,`status`);