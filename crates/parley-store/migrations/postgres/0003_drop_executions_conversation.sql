-- No query reads active executions by conversation (a conversation's flow is found by its
-- contact key, `conversation:CH…`, through executions_active_contact), so this index was
-- only written: an insert when each execution started and a delete when it ended, on a
-- leaf page of its own per conversation (BENCHMARKS.md, change 24).
DROP INDEX IF EXISTS executions_conversation;
