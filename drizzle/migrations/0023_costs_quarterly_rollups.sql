CREATE TABLE `cost_agent_quarterly` (
	`project_id` text NOT NULL,
	`quarter` integer NOT NULL,
	`agent_id` text NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `quarter`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_quarterly_quarter_idx` ON `cost_agent_quarterly` (`quarter`);--> statement-breakpoint
CREATE INDEX `cost_agent_quarterly_agent_idx` ON `cost_agent_quarterly` (`agent_id`,`quarter`);--> statement-breakpoint
CREATE TABLE `cost_model_quarterly` (
	`project_id` text NOT NULL,
	`quarter` integer NOT NULL,
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
	PRIMARY KEY(`project_id`, `quarter`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_model_quarterly_quarter_idx` ON `cost_model_quarterly` (`quarter`);--> statement-breakpoint
INSERT INTO `cost_model_quarterly` SELECT `project_id`, (`hour` / 21600000) * 21600000, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`),
  sum(`cache_read_tokens`), sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_model_hourly` GROUP BY 1, 2, 3, 4;--> statement-breakpoint
INSERT INTO `cost_agent_quarterly` SELECT `project_id`, (`hour` / 21600000) * 21600000, `agent_id`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`),
  sum(`cache_read_tokens`), sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_agent_hourly` GROUP BY 1, 2, 3;
