-- Full-text indexing moves out of the insert path: messages are indexed in large batches
-- after commit (server/utils/search-index.ts), which is several times faster than a row
-- trigger. fts_state records how far the index has caught up; deletes and edits of rows
-- not yet indexed must not touch the index.
DROP TRIGGER IF EXISTS `messages_fts_ai`;
--> statement-breakpoint
INSERT OR REPLACE INTO `fts_state` (`name`, `indexed_seq`) VALUES ('messages', (SELECT coalesce(max(`seq`), 0) FROM `messages`));
--> statement-breakpoint
DROP TRIGGER IF EXISTS `messages_fts_ad`;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_ad` AFTER DELETE ON `messages`
WHEN old.seq <= (SELECT indexed_seq FROM fts_state WHERE name = 'messages') BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `messages_fts_au`;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_au` AFTER UPDATE OF content ON `messages`
WHEN old.seq <= (SELECT indexed_seq FROM fts_state WHERE name = 'messages') BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
  INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content);
END;
