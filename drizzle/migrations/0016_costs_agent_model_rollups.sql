CREATE TABLE `cost_agent_daily` (
	`project_id` text NOT NULL,
	`day` integer NOT NULL,
	`agent_id` text NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `day`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_daily_day_idx` ON `cost_agent_daily` (`day`);--> statement-breakpoint
CREATE TABLE `cost_agent_hourly` (
	`project_id` text NOT NULL,
	`hour` integer NOT NULL,
	`agent_id` text NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `hour`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_hourly_hour_idx` ON `cost_agent_hourly` (`hour`);--> statement-breakpoint
CREATE TABLE `cost_agent_monthly` (
	`project_id` text NOT NULL,
	`month` integer NOT NULL,
	`agent_id` text NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`cost` real DEFAULT 0 NOT NULL,
	`reported_cost` real DEFAULT 0 NOT NULL,
	`unpriced_events` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `month`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `cost_agent_monthly_month_idx` ON `cost_agent_monthly` (`month`);--> statement-breakpoint
CREATE TABLE `cost_day_model` (
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
	PRIMARY KEY(`day`, `model`, `provider`)
);
--> statement-breakpoint
CREATE TABLE `cost_model_monthly` (
	`project_id` text NOT NULL,
	`month` integer NOT NULL,
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
	PRIMARY KEY(`project_id`, `month`, `model`, `provider`)
);
--> statement-breakpoint
CREATE INDEX `cost_model_monthly_month_idx` ON `cost_model_monthly` (`month`);--> statement-breakpoint
CREATE TABLE `cost_task_spans` (
	`project_id` text NOT NULL,
	`task_id` text NOT NULL,
	`first_month` integer NOT NULL,
	`last_month` integer NOT NULL,
	PRIMARY KEY(`project_id`, `task_id`)
);
--> statement-breakpoint
CREATE TRIGGER `cost_task_spans_on_month` AFTER INSERT ON `cost_task_monthly`
WHEN EXISTS (SELECT 1 FROM `cost_task_monthly` WHERE `project_id` = NEW.`project_id` AND `task_id` = NEW.`task_id` AND `month` <> NEW.`month`)
BEGIN
  INSERT INTO `cost_task_spans` (`project_id`, `task_id`, `first_month`, `last_month`)
    SELECT NEW.`project_id`, NEW.`task_id`, min(`month`), max(`month`) FROM `cost_task_monthly` WHERE `project_id` = NEW.`project_id` AND `task_id` = NEW.`task_id`
    ON CONFLICT(`project_id`, `task_id`) DO UPDATE SET `first_month` = excluded.`first_month`, `last_month` = excluded.`last_month`;
END;--> statement-breakpoint
INSERT INTO `cost_task_spans` SELECT `project_id`, `task_id`, min(`month`), max(`month`) FROM `cost_task_monthly` GROUP BY 1, 2 HAVING count(*) > 1;--> statement-breakpoint
INSERT INTO `cost_agent_hourly` SELECT `project_id`, `hour`, `agent_id`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_hourly` GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO `cost_agent_daily` SELECT `project_id`, `day`, `agent_id`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_daily` GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO `cost_agent_monthly` SELECT `project_id`, `month`, `agent_id`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_monthly` GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO `cost_model_monthly` SELECT `project_id`, `month`, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_monthly` GROUP BY 1, 2, 3, 4;--> statement-breakpoint
INSERT INTO `cost_day_model` SELECT `day`, `model`, `provider`, sum(`events`), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
  sum(`cache_write_tokens`), sum(`cost`), sum(`reported_cost`), sum(`unpriced_events`) FROM `cost_model_daily` GROUP BY 1, 2, 3;
