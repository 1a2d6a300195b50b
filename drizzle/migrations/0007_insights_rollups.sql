CREATE TABLE `insight_agent_labels` (
	`project_id` text NOT NULL,
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
	PRIMARY KEY(`project_id`, `agent_id`, `label`)
);
--> statement-breakpoint
CREATE INDEX `insight_agent_labels_label_idx` ON `insight_agent_labels` (`project_id`,`label`);--> statement-breakpoint
CREATE TABLE `insight_agent_weeks` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`week` integer NOT NULL,
	`finished` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`blocked` integer DEFAULT 0 NOT NULL,
	`est_n` integer DEFAULT 0 NOT NULL,
	`est_sum` real DEFAULT 0 NOT NULL,
	`act_sum` real DEFAULT 0 NOT NULL,
	`ape_sum` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `agent_id`, `week`)
);
--> statement-breakpoint
CREATE INDEX `insight_agent_weeks_agent_idx` ON `insight_agent_weeks` (`agent_id`,`week`);--> statement-breakpoint
CREATE TABLE `insight_blocker_agents` (
	`project_id` text NOT NULL,
	`key` text NOT NULL,
	`agent_id` text NOT NULL,
	`occurrences` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `key`, `agent_id`)
);
--> statement-breakpoint
CREATE INDEX `insight_blocker_agents_agent_idx` ON `insight_blocker_agents` (`agent_id`);--> statement-breakpoint
CREATE TABLE `insight_blocker_facts` (
	`blocker_id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`key` text NOT NULL,
	`agent_id` text,
	`task_id` text,
	`status` text NOT NULL,
	`reported_at` integer NOT NULL,
	`resolved_at` integer
);
--> statement-breakpoint
CREATE INDEX `insight_blocker_facts_key_idx` ON `insight_blocker_facts` (`project_id`,`key`,`reported_at`);--> statement-breakpoint
CREATE TABLE `insight_blocker_groups` (
	`project_id` text NOT NULL,
	`key` text NOT NULL,
	`occurrences` integer DEFAULT 0 NOT NULL,
	`resolved` integer DEFAULT 0 NOT NULL,
	`resolved_delay_ms` integer DEFAULT 0 NOT NULL,
	`open_count` integer DEFAULT 0 NOT NULL,
	`open_reported_sum` integer DEFAULT 0 NOT NULL,
	`first_reported_at` integer,
	`last_reported_at` integer,
	`sample` text NOT NULL,
	PRIMARY KEY(`project_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `insight_blocker_groups_occ_idx` ON `insight_blocker_groups` (`project_id`,`occurrences`);--> statement-breakpoint
CREATE TABLE `insight_hours_of_day` (
	`project_id` text NOT NULL,
	`hod` integer NOT NULL,
	`completed` integer DEFAULT 0 NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	`blockers` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `hod`)
);
--> statement-breakpoint
CREATE TABLE `insight_loops` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`started_at` integer NOT NULL,
	`last_ts` integer NOT NULL,
	`repeats` integer NOT NULL,
	`sample` text NOT NULL,
	`message_ids` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `insight_loops_project_idx` ON `insight_loops` (`project_id`,`last_ts`);--> statement-breakpoint
CREATE TABLE `insight_message_streaks` (
	`project_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`sender` text NOT NULL,
	`last_text` text NOT NULL,
	`streak` integer NOT NULL,
	`started_at` integer NOT NULL,
	`last_ts` integer NOT NULL,
	`message_ids` text NOT NULL,
	PRIMARY KEY(`project_id`, `conversation_id`, `sender`)
);
--> statement-breakpoint
CREATE TABLE `insight_project_hours` (
	`project_id` text NOT NULL,
	`hour` integer NOT NULL,
	`completed` integer DEFAULT 0 NOT NULL,
	`completed_estimate` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `hour`)
);
--> statement-breakpoint
CREATE TABLE `insight_state` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `insight_task_facts` (
	`task_id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`agent_id` text,
	`status` text NOT NULL,
	`labels` text NOT NULL,
	`contributions` text NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	`last_progress_at` integer,
	`estimated_hours` real,
	`actual_hours` real,
	`blockers` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `insight_task_facts_project_status_idx` ON `insight_task_facts` (`project_id`,`status`);--> statement-breakpoint
CREATE INDEX `insight_task_facts_agent_completed_idx` ON `insight_task_facts` (`agent_id`,`completed_at`);--> statement-breakpoint
CREATE TABLE `insight_task_labels` (
	`project_id` text NOT NULL,
	`label` text NOT NULL,
	`task_id` text NOT NULL,
	PRIMARY KEY(`project_id`, `label`, `task_id`)
);
--> statement-breakpoint
CREATE INDEX `insight_task_labels_task_idx` ON `insight_task_labels` (`task_id`);