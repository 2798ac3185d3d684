-- Read leases behind strict cache consistency (registry-server/src/read_fence.rs). A replica that holds a
-- live lease serves cached responses without reading the change counter per request; a writer, before it
-- acknowledges, waits until every other live lease covers its change (`covered`: the highest counter
-- value the replica dropped its cache for) or has run out. `expires_at` is set from the database's clock
-- only, so replicas' clocks never have to agree with it.
create table replica_leases (
    replica text primary key,
    covered bigint not null,
    expires_at timestamptz not null
);
