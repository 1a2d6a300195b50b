CREATE TABLE `cost_agent_task_daily` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`task_id` text NOT NULL,
	`day` integer NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `agent_id`, `task_id`, `day`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_task_daily_agent_idx` ON `cost_agent_task_daily` (`agent_id`,`day`);--> statement-breakpoint
CREATE TABLE `cost_agent_task_monthly` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
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
	PRIMARY KEY(`project_id`, `agent_id`, `task_id`, `month`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_task_monthly_cost_idx` ON `cost_agent_task_monthly` (`agent_id`,`month`,`cost`);--> statement-breakpoint
CREATE TABLE `cost_hour_model` (
	`hour` integer NOT NULL,
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
	PRIMARY KEY(`hour`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_daily_agent_idx` ON `cost_agent_daily` (`agent_id`,`day`);--> statement-breakpoint
INSERT INTO `cost_hour_model` SELECT `hour`, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_model_hourly` GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO `cost_agent_task_daily` SELECT `project_id`, `agent_id`, `task_id`, (`ts` / 86400000) * 86400000, count(*), sum(`input_tokens`), sum(`output_tokens`),
  sum(`cache_read_tokens`), sum(`cache_write_tokens`), coalesce(sum(`cost`), 0), coalesce(sum(CASE WHEN `cost_source` = 'reported' THEN `cost` END), 0),
  sum(`cost_source` = 'unpriced') FROM `cost_events` WHERE `agent_id` IS NOT NULL AND `task_id` IS NOT NULL GROUP BY 1, 2, 3, 4;--> statement-breakpoint
INSERT INTO `cost_agent_task_monthly` SELECT `project_id`, `agent_id`, `task_id`, CAST(strftime('%s', `day` / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000,
  sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`), sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`),
  sum(`unpriced_events`) FROM `cost_agent_task_daily` GROUP BY 1, 2, 3, 4;
