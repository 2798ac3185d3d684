-- The change counter behind strict cache consistency across replicas. Every write advances it right
-- after its commit and before it is acknowledged; a replica serves a cached response only after reading
-- the counter on a query that began after the request arrived, and drops its cache when the value moved.
-- A sequence rather than a row: concurrent writers never queue on it. `cache 1` (the default) keeps
-- `last_value` exact across sessions.
create sequence mcp_reg_change_seq as bigint cache 1;
