CREATE TABLE `notification_deliveries` (
	`seq` integer PRIMARY KEY NOT NULL,
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`project_id` text NOT NULL,
	`pipeline_id` text NOT NULL,
	`run_id` text NOT NULL,
	`channel` text NOT NULL,
	`event` text NOT NULL,
	`status` text NOT NULL,
	`status_code` integer,
	`error` text,
	`duration_ms` integer NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notification_deliveries_pipeline_idx` ON `notification_deliveries` (`pipeline_id`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `notification_deliveries_attempt_uq` ON `notification_deliveries` (`delivery_id`,`attempt`);--> statement-breakpoint
CREATE TABLE `pipeline_notification_targets` (
	`pipeline_id` text NOT NULL,
	`channel` text NOT NULL,
	`project_id` text NOT NULL,
	`config` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`pipeline_id`, `channel`)
);
--> statement-breakpoint
ALTER TABLE `pipeline_stage_runs` ADD `attempt` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX `pipeline_stage_runs_task_idx` ON `pipeline_stage_runs` (`task_id`);