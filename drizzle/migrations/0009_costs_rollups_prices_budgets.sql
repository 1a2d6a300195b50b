CREATE TABLE `budget_crossings` (
	`budget_id` text NOT NULL,
	`period_start` integer NOT NULL,
	`threshold` text NOT NULL,
	`crossed_at` integer NOT NULL,
	`spent` real NOT NULL,
	`alert_id` text NOT NULL,
	`paused_agents` text,
	PRIMARY KEY(`budget_id`, `period_start`, `threshold`)
);
--> statement-breakpoint
CREATE TABLE `cost_daily` (
	`project_id` text NOT NULL,
	`day` integer NOT NULL,
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
	PRIMARY KEY(`project_id`, `day`, `agent_id`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_daily_day_idx` ON `cost_daily` (`day`);--> statement-breakpoint
CREATE INDEX `cost_daily_agent_idx` ON `cost_daily` (`agent_id`,`day`);--> statement-breakpoint
CREATE TABLE `cost_hourly` (
	`project_id` text NOT NULL,
	`hour` integer NOT NULL,
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
	PRIMARY KEY(`project_id`, `hour`, `agent_id`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_hourly_hour_idx` ON `cost_hourly` (`hour`);--> statement-breakpoint
CREATE INDEX `cost_hourly_agent_idx` ON `cost_hourly` (`agent_id`,`hour`);--> statement-breakpoint
CREATE TABLE `cost_task_daily` (
	`project_id` text NOT NULL,
	`task_id` text NOT NULL,
	`day` integer NOT NULL,
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
	PRIMARY KEY(`project_id`, `task_id`, `day`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_task_daily_day_idx` ON `cost_task_daily` (`project_id`,`day`);--> statement-breakpoint
ALTER TABLE `budgets` ADD `name` text;--> statement-breakpoint
ALTER TABLE `budgets` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `budgets` ADD `updated_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `cost_events` ADD `price_id` integer;--> statement-breakpoint
CREATE INDEX `cost_events_recost_idx` ON `cost_events` (`project_id`,`model`,`provider`,`ts`);--> statement-breakpoint
ALTER TABLE `model_prices` ADD `note` text;--> statement-breakpoint
ALTER TABLE `model_prices` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `model_prices` ADD `created_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `model_prices` ADD `updated_at` integer DEFAULT 0 NOT NULL;