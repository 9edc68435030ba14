-- Temporal's PostgreSQL visibility schema (v12) indexes its
-- executions_visibility table 73 ways: one index per pre-allocated custom
-- search attribute and per Temporal feature (schedules, worker versioning,
-- batches, pause, parent and root workflows). Every visibility write, two
-- per attempt (started, closed), updates all of them: measured with
-- pg_stat_statements, those two writes were more than half of PostgreSQL's
-- execution time per sign-in (1.3 ms each).
--
-- flexauth registers no search attribute and lists no workflows; the
-- Temporal UI's and CLI's lists (newest first, by workflow id, type,
-- status, task queue, execution time) keep their indexes. What is dropped
-- still answers, by scanning the namespace's rows, for whoever asks.
--
-- Applied after Temporal's schema setup: by embedtemporal (dev, tests,
-- bench) and by the temporal-visibility-indexes service of
-- docker-compose.yml. Every statement can run again. To restore an index,
-- run its CREATE INDEX from go.temporal.io/server's
-- schema/postgresql/v12/visibility/schema.sql; a Temporal upgrade whose
-- schema update refers to a dropped index needs that first.
DROP INDEX IF EXISTS by_history_length;
DROP INDEX IF EXISTS by_history_size_bytes;
DROP INDEX IF EXISTS by_execution_duration;
DROP INDEX IF EXISTS by_state_transition_count;
DROP INDEX IF EXISTS by_parent_workflow_id;
DROP INDEX IF EXISTS by_parent_run_id;
DROP INDEX IF EXISTS by_root_workflow_id;
DROP INDEX IF EXISTS by_root_run_id;
DROP INDEX IF EXISTS by_temporal_change_version;
DROP INDEX IF EXISTS by_binary_checksums;
DROP INDEX IF EXISTS by_build_ids;
DROP INDEX IF EXISTS by_temporal_pause_info;
DROP INDEX IF EXISTS by_temporal_reported_problems;
DROP INDEX IF EXISTS by_temporal_worker_deployment_version;
DROP INDEX IF EXISTS by_temporal_workflow_versioning_behavior;
DROP INDEX IF EXISTS by_temporal_worker_deployment;
DROP INDEX IF EXISTS by_used_deployment_versions;
DROP INDEX IF EXISTS by_batcher_user;
DROP INDEX IF EXISTS by_temporal_scheduled_start_time;
DROP INDEX IF EXISTS by_temporal_scheduled_by_id;
DROP INDEX IF EXISTS by_temporal_schedule_paused;
DROP INDEX IF EXISTS by_temporal_namespace_division;
DROP INDEX IF EXISTS by_temporal_external_payload_size_bytes;
DROP INDEX IF EXISTS by_temporal_external_payload_count;
DROP INDEX IF EXISTS by_bool_01;
DROP INDEX IF EXISTS by_bool_02;
DROP INDEX IF EXISTS by_bool_03;
DROP INDEX IF EXISTS by_datetime_01;
DROP INDEX IF EXISTS by_datetime_02;
DROP INDEX IF EXISTS by_datetime_03;
DROP INDEX IF EXISTS by_double_01;
DROP INDEX IF EXISTS by_double_02;
DROP INDEX IF EXISTS by_double_03;
DROP INDEX IF EXISTS by_int_01;
DROP INDEX IF EXISTS by_int_02;
DROP INDEX IF EXISTS by_int_03;
DROP INDEX IF EXISTS by_keyword_01;
DROP INDEX IF EXISTS by_keyword_02;
DROP INDEX IF EXISTS by_keyword_03;
DROP INDEX IF EXISTS by_keyword_04;
DROP INDEX IF EXISTS by_keyword_05;
DROP INDEX IF EXISTS by_keyword_06;
DROP INDEX IF EXISTS by_keyword_07;
DROP INDEX IF EXISTS by_keyword_08;
DROP INDEX IF EXISTS by_keyword_09;
DROP INDEX IF EXISTS by_keyword_10;
DROP INDEX IF EXISTS by_text_01;
DROP INDEX IF EXISTS by_text_02;
DROP INDEX IF EXISTS by_text_03;
DROP INDEX IF EXISTS by_keyword_list_01;
DROP INDEX IF EXISTS by_keyword_list_02;
DROP INDEX IF EXISTS by_keyword_list_03;
DROP INDEX IF EXISTS by_temporal_bool_01;
DROP INDEX IF EXISTS by_temporal_bool_02;
DROP INDEX IF EXISTS by_temporal_datetime_01;
DROP INDEX IF EXISTS by_temporal_datetime_02;
DROP INDEX IF EXISTS by_temporal_double_01;
DROP INDEX IF EXISTS by_temporal_double_02;
DROP INDEX IF EXISTS by_temporal_int_01;
DROP INDEX IF EXISTS by_temporal_int_02;
DROP INDEX IF EXISTS by_temporal_keyword_01;
DROP INDEX IF EXISTS by_temporal_keyword_02;
DROP INDEX IF EXISTS by_temporal_keyword_03;
DROP INDEX IF EXISTS by_temporal_keyword_04;
DROP INDEX IF EXISTS by_temporal_low_cardinality_keyword_01;
DROP INDEX IF EXISTS by_temporal_keyword_list_01;
DROP INDEX IF EXISTS by_temporal_keyword_list_02;
