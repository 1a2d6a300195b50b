CREATE TABLE `fts_state` (
	`name` text PRIMARY KEY NOT NULL,
	`indexed_seq` integer NOT NULL
);
