CREATE TABLE `cost_monthly` (
	`project_id` text NOT NULL,
	`month` integer NOT NULL,
	`agent_id` text NOT NULL,
	`model` text NOT NULL,
	`provider` text NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `month`, `agent_id`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_monthly_month_idx` ON `cost_monthly` (`month`);--> statement-breakpoint
CREATE INDEX `cost_monthly_agent_idx` ON `cost_monthly` (`agent_id`,`month`);--> statement-breakpoint
CREATE TABLE `cost_task_monthly` (
	`project_id` text NOT NULL,
	`task_id` text NOT NULL,
	`month` integer NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `task_id`, `month`)
);
--> statement-breakpoint
CREATE INDEX `cost_task_monthly_cost_idx` ON `cost_task_monthly` (`month`,`cost`);--> statement-breakpoint
CREATE INDEX `cost_task_monthly_project_cost_idx` ON `cost_task_monthly` (`project_id`,`month`,`cost`);