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
CREATE INDEX `cost_task_monthly_project_cost_idx` ON `cost_task_monthly` (`project_id`,`month`,`cost`);--> statement-breakpoint
INSERT INTO `cost_monthly` SELECT `project_id`, CAST(strftime('%s', `day` / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, `agent_id`, `model`, `provider`,
  sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`), sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`)
  FROM `cost_daily` GROUP BY 1, 2, 3, 4, 5;--> statement-breakpoint
INSERT INTO `cost_task_monthly` SELECT `project_id`, `task_id`, CAST(strftime('%s', `day` / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000,
  sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`), sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`)
  FROM `cost_task_daily` GROUP BY 1, 2, 3;
