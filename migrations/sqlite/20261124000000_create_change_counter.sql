-- PostgreSQL's twin of this migration creates the change counter that replicas sharing one database read
-- before serving a cached response. An SQLite file has one serving process, whose own writes invalidate
-- its cache directly, so there is nothing to create; the file keeps the two trees in step.
select 1;
