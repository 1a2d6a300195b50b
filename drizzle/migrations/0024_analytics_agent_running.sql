CREATE TABLE `agent_message_running` (
	`project_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`hour` integer NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `agent_id`, `hour`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Filled from the stored rollups, then kept by triggers on message_rollups (whoever writes it).
INSERT INTO `agent_message_running` (`project_id`, `agent_id`, `hour`, `messages`)
  SELECT `project_id`, `agent_id`, `hour`, sum(`messages`) OVER (PARTITION BY `project_id`, `agent_id` ORDER BY `hour`) FROM `message_rollups`;
--> statement-breakpoint
-- Adding n messages at an hour: make sure the hour has a row (holding the total up to the hour
-- before), then add n to it and to every later hour of the agent in the project. Rollups are
-- written in time order, so the later hours are almost always none.
CREATE TRIGGER `message_rollups_running_ai` AFTER INSERT ON `message_rollups` BEGIN
  INSERT INTO agent_message_running (project_id, agent_id, hour, messages)
    SELECT new.project_id, new.agent_id, new.hour, coalesce((SELECT messages FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour < new.hour ORDER BY hour DESC LIMIT 1), 0)
    WHERE NOT EXISTS (SELECT 1 FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour = new.hour);
  UPDATE agent_message_running SET messages = messages + new.messages WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour >= new.hour;
END;
--> statement-breakpoint
CREATE TRIGGER `message_rollups_running_au` AFTER UPDATE OF `messages` ON `message_rollups` WHEN new.messages <> old.messages BEGIN
  INSERT INTO agent_message_running (project_id, agent_id, hour, messages)
    SELECT new.project_id, new.agent_id, new.hour, coalesce((SELECT messages FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour < new.hour ORDER BY hour DESC LIMIT 1), 0)
    WHERE NOT EXISTS (SELECT 1 FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour = new.hour);
  UPDATE agent_message_running SET messages = messages + new.messages - old.messages WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour >= new.hour;
END;
--> statement-breakpoint
-- A row moved to other keys: its old messages move with it (the trigger above adds any change of the count).
CREATE TRIGGER `message_rollups_running_au_keys` AFTER UPDATE OF `project_id`, `agent_id`, `hour` ON `message_rollups` BEGIN
  UPDATE agent_message_running SET messages = messages - old.messages WHERE project_id = old.project_id AND agent_id = old.agent_id AND hour >= old.hour;
  INSERT INTO agent_message_running (project_id, agent_id, hour, messages)
    SELECT new.project_id, new.agent_id, new.hour, coalesce((SELECT messages FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour < new.hour ORDER BY hour DESC LIMIT 1), 0)
    WHERE NOT EXISTS (SELECT 1 FROM agent_message_running WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour = new.hour);
  UPDATE agent_message_running SET messages = messages + old.messages WHERE project_id = new.project_id AND agent_id = new.agent_id AND hour >= new.hour;
END;
--> statement-breakpoint
CREATE TRIGGER `message_rollups_running_ad` AFTER DELETE ON `message_rollups` BEGIN
  UPDATE agent_message_running SET messages = messages - old.messages WHERE project_id = old.project_id AND agent_id = old.agent_id AND hour >= old.hour;
END;
