-- Fixed-window counters of write requests per client key (`ip:…`, `token:…`), shared by every replica. A
-- key's row is reset when a new window starts.
create table rate_limit_windows (
    key text primary key,
    -- Unix seconds at which the counted window started.
    window_start bigint not null,
    hits integer not null
);
