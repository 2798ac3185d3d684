-- PostgreSQL's twin of this migration creates the read leases of replicas sharing one database. An SQLite
-- file has one serving process, whose own writes invalidate its cache directly, so there is nothing to
-- create; the file keeps the two trees in step.
select 1;
