CREATE TABLE `agent_message_totals` (
	`agent_id` text NOT NULL,
	`project_id` text NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`responses` integer DEFAULT 0 NOT NULL,
	`response_ms_sum` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`agent_id`, `project_id`)
);
--> statement-breakpoint
CREATE TABLE `conversation_agent_counts` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`conversations` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `agent_id`)
);
--> statement-breakpoint
CREATE TABLE `project_hour_rollups` (
	`project_id` text NOT NULL,
	`hour` integer NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`responses` integer DEFAULT 0 NOT NULL,
	`response_ms_sum` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `hour`)
);
--> statement-breakpoint
-- Fill the totals from what is stored, then keep them by delta with triggers (so they stay
-- true whoever writes message_rollups or conversations).
INSERT INTO `agent_message_totals` (`agent_id`, `project_id`, `messages`, `errors`, `responses`, `response_ms_sum`)
  SELECT `agent_id`, `project_id`, sum(`messages`), sum(`errors`), sum(`responses`), sum(`response_ms_sum`) FROM `message_rollups` GROUP BY `agent_id`, `project_id`;
--> statement-breakpoint
INSERT INTO `project_hour_rollups` (`project_id`, `hour`, `messages`, `errors`, `responses`, `response_ms_sum`)
  SELECT `project_id`, `hour`, sum(`messages`), sum(`errors`), sum(`responses`), sum(`response_ms_sum`) FROM `message_rollups` GROUP BY `project_id`, `hour`;
--> statement-breakpoint
INSERT INTO `conversation_agent_counts` (`project_id`, `agent_id`, `conversations`)
  SELECT `project_id`, coalesce(`agent_id`, ''), count(*) FROM `conversations` GROUP BY 1, 2;
--> statement-breakpoint
CREATE TRIGGER `message_rollups_totals_ai` AFTER INSERT ON `message_rollups` BEGIN
  INSERT INTO agent_message_totals (agent_id, project_id, messages, errors, responses, response_ms_sum) VALUES (new.agent_id, new.project_id, new.messages, new.errors, new.responses, new.response_ms_sum)
    ON CONFLICT(agent_id, project_id) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO project_hour_rollups (project_id, hour, messages, errors, responses, response_ms_sum) VALUES (new.project_id, new.hour, new.messages, new.errors, new.responses, new.response_ms_sum)
    ON CONFLICT(project_id, hour) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
END;
--> statement-breakpoint
-- The rollup upsert sets only the figures: add the difference.
CREATE TRIGGER `message_rollups_totals_au` AFTER UPDATE OF `messages`, `errors`, `responses`, `response_ms_sum` ON `message_rollups` BEGIN
  INSERT INTO agent_message_totals (agent_id, project_id, messages, errors, responses, response_ms_sum) VALUES (new.agent_id, new.project_id, new.messages - old.messages, new.errors - old.errors, new.responses - old.responses, new.response_ms_sum - old.response_ms_sum)
    ON CONFLICT(agent_id, project_id) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO project_hour_rollups (project_id, hour, messages, errors, responses, response_ms_sum) VALUES (new.project_id, new.hour, new.messages - old.messages, new.errors - old.errors, new.responses - old.responses, new.response_ms_sum - old.response_ms_sum)
    ON CONFLICT(project_id, hour) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
END;
--> statement-breakpoint
-- A row moved to other keys: its old figures move with it (the trigger above adds any change of figures).
CREATE TRIGGER `message_rollups_totals_au_keys` AFTER UPDATE OF `project_id`, `agent_id`, `hour` ON `message_rollups` BEGIN
  INSERT INTO agent_message_totals (agent_id, project_id, messages, errors, responses, response_ms_sum) VALUES (old.agent_id, old.project_id, -old.messages, -old.errors, -old.responses, -old.response_ms_sum)
    ON CONFLICT(agent_id, project_id) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO agent_message_totals (agent_id, project_id, messages, errors, responses, response_ms_sum) VALUES (new.agent_id, new.project_id, old.messages, old.errors, old.responses, old.response_ms_sum)
    ON CONFLICT(agent_id, project_id) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO project_hour_rollups (project_id, hour, messages, errors, responses, response_ms_sum) VALUES (old.project_id, old.hour, -old.messages, -old.errors, -old.responses, -old.response_ms_sum)
    ON CONFLICT(project_id, hour) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO project_hour_rollups (project_id, hour, messages, errors, responses, response_ms_sum) VALUES (new.project_id, new.hour, old.messages, old.errors, old.responses, old.response_ms_sum)
    ON CONFLICT(project_id, hour) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
END;
--> statement-breakpoint
CREATE TRIGGER `message_rollups_totals_ad` AFTER DELETE ON `message_rollups` BEGIN
  INSERT INTO agent_message_totals (agent_id, project_id, messages, errors, responses, response_ms_sum) VALUES (old.agent_id, old.project_id, -old.messages, -old.errors, -old.responses, -old.response_ms_sum)
    ON CONFLICT(agent_id, project_id) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
  INSERT INTO project_hour_rollups (project_id, hour, messages, errors, responses, response_ms_sum) VALUES (old.project_id, old.hour, -old.messages, -old.errors, -old.responses, -old.response_ms_sum)
    ON CONFLICT(project_id, hour) DO UPDATE SET messages = messages + excluded.messages, errors = errors + excluded.errors, responses = responses + excluded.responses, response_ms_sum = response_ms_sum + excluded.response_ms_sum;
END;
--> statement-breakpoint
CREATE TRIGGER `conversations_counts_ai` AFTER INSERT ON `conversations` BEGIN
  INSERT INTO conversation_agent_counts (project_id, agent_id, conversations) VALUES (new.project_id, coalesce(new.agent_id, ''), 1)
    ON CONFLICT(project_id, agent_id) DO UPDATE SET conversations = conversations + excluded.conversations;
END;
--> statement-breakpoint
CREATE TRIGGER `conversations_counts_au` AFTER UPDATE OF `project_id`, `agent_id` ON `conversations` BEGIN
  INSERT INTO conversation_agent_counts (project_id, agent_id, conversations) VALUES (old.project_id, coalesce(old.agent_id, ''), -1)
    ON CONFLICT(project_id, agent_id) DO UPDATE SET conversations = conversations + excluded.conversations;
  INSERT INTO conversation_agent_counts (project_id, agent_id, conversations) VALUES (new.project_id, coalesce(new.agent_id, ''), 1)
    ON CONFLICT(project_id, agent_id) DO UPDATE SET conversations = conversations + excluded.conversations;
END;
--> statement-breakpoint
CREATE TRIGGER `conversations_counts_ad` AFTER DELETE ON `conversations` BEGIN
  INSERT INTO conversation_agent_counts (project_id, agent_id, conversations) VALUES (old.project_id, coalesce(old.agent_id, ''), -1)
    ON CONFLICT(project_id, agent_id) DO UPDATE SET conversations = conversations + excluded.conversations;
END;
