CREATE TABLE `insight_agent_label_totals` (
	`agent_id` text NOT NULL,
	`label` text NOT NULL,
	`tasks` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`blocked` integer DEFAULT 0 NOT NULL,
	`handed_off` integer DEFAULT 0 NOT NULL,
	`open` integer DEFAULT 0 NOT NULL,
	`est_n` integer DEFAULT 0 NOT NULL,
	`est_sum` real DEFAULT 0 NOT NULL,
	`act_sum` real DEFAULT 0 NOT NULL,
	`ape_sum` real DEFAULT 0 NOT NULL,
	`gap_n` integer DEFAULT 0 NOT NULL,
	`gap_sum` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`agent_id`, `label`)
);
--> statement-breakpoint
CREATE INDEX `insight_agent_label_totals_label_idx` ON `insight_agent_label_totals` (`label`);--> statement-breakpoint
CREATE INDEX `insight_agent_labels_agent_idx` ON `insight_agent_labels` (`label`,`agent_id`);--> statement-breakpoint
-- The new totals start empty: every insight rollup is rebuilt from the event log (they are all derived).
DELETE FROM `insight_task_facts`;--> statement-breakpoint
DELETE FROM `insight_task_labels`;--> statement-breakpoint
DELETE FROM `insight_agent_labels`;--> statement-breakpoint
DELETE FROM `insight_agent_weeks`;--> statement-breakpoint
DELETE FROM `insight_project_hours`;--> statement-breakpoint
DELETE FROM `insight_hours_of_day`;--> statement-breakpoint
DELETE FROM `insight_blocker_facts`;--> statement-breakpoint
DELETE FROM `insight_blocker_groups`;--> statement-breakpoint
DELETE FROM `insight_blocker_agents`;--> statement-breakpoint
DELETE FROM `insight_message_streaks`;--> statement-breakpoint
DELETE FROM `insight_loops`;--> statement-breakpoint
DELETE FROM `insight_state`;
