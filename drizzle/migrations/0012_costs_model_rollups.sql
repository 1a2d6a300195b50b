CREATE TABLE `cost_model_daily` (
	`project_id` text NOT NULL,
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
	PRIMARY KEY(`project_id`, `day`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_model_daily_day_idx` ON `cost_model_daily` (`day`);--> statement-breakpoint
CREATE TABLE `cost_model_hourly` (
	`project_id` text NOT NULL,
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
	PRIMARY KEY(`project_id`, `hour`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_model_hourly_hour_idx` ON `cost_model_hourly` (`hour`);--> statement-breakpoint
INSERT INTO `cost_model_hourly` SELECT `project_id`, `hour`, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_hourly` GROUP BY 1, 2, 3, 4;--> statement-breakpoint
INSERT INTO `cost_model_daily` SELECT `project_id`, `day`, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_daily` GROUP BY 1, 2, 3, 4;
