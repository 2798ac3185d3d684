-- Fixed-window counters of write requests per client key (`ip:…`, `token:…`), shared by every process
-- using this database. A key's row is reset when a new window starts.
create table rate_limit_windows (
    key text primary key,
    -- Unix seconds at which the counted window started.
    window_start integer not null,
    hits integer not null
) strict, without rowid;
