CREATE TABLE `retention_state` (
	`kind` text PRIMARY KEY NOT NULL,
	`deleted_before` integer NOT NULL,
	`rows_deleted` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
