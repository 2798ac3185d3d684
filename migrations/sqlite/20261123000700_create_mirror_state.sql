-- `registry-server mirror`: how far each upstream registry has been mirrored, so a pass resumes where the
-- last one stopped. `updated_since` is the high-water mark of the last complete pass (RFC3339 text, sent
-- back to the upstream verbatim); `pass_*` describe a pass in progress, saved after every committed page.
create table mirror_state (
    upstream text primary key,
    updated_since text,
    -- The upstream's `nextCursor` after the last committed page of the unfinished pass.
    pass_cursor text,
    -- Largest upstream `updatedAt` applied in the unfinished pass (RFC3339).
    pass_max text,
    -- The upstream's clock (its `Date` header) when the unfinished pass began (RFC3339).
    pass_started text,
    -- Microseconds since the Unix epoch, UTC.
    updated_at integer not null
) strict;
