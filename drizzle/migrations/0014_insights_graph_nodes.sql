CREATE TABLE `insight_graph_nodes` (
	`project_id` text NOT NULL,
	`task_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`progress` real NOT NULL,
	`estimated_hours` real,
	`assigned_agent_id` text,
	`updated_at` integer NOT NULL,
	`depends_on` text NOT NULL,
	PRIMARY KEY(`project_id`, `task_id`)
) WITHOUT ROWID;--> statement-breakpoint
-- Filled by the rollup follower: every insight rollup is rebuilt from the event log (they are all derived).
DELETE FROM `insight_task_facts`;--> statement-breakpoint
DELETE FROM `insight_task_labels`;--> statement-breakpoint
DELETE FROM `insight_agent_labels`;--> statement-breakpoint
DELETE FROM `insight_agent_label_totals`;--> statement-breakpoint
DELETE FROM `insight_agent_weeks`;--> statement-breakpoint
DELETE FROM `insight_project_hours`;--> statement-breakpoint
DELETE FROM `insight_hours_of_day`;--> statement-breakpoint
DELETE FROM `insight_blocker_facts`;--> statement-breakpoint
DELETE FROM `insight_blocker_groups`;--> statement-breakpoint
DELETE FROM `insight_blocker_agents`;--> statement-breakpoint
DELETE FROM `insight_message_streaks`;--> statement-breakpoint
DELETE FROM `insight_loops`;--> statement-breakpoint
DELETE FROM `insight_state`;
