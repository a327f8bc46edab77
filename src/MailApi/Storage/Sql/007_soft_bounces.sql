-- MailApi store, version 7: soft bounces in a row, per key and address (the suppression list's normal form). A row is
-- one streak; it goes when the address is suppressed or shown fine, and retention purges rows gone stale.
create table mailapi_soft_bounces (
    owner       text        not null,         -- API key name
    address     text        not null,
    count       int         not null,
    first_at    timestamptz not null,         -- the streak's first soft bounce
    last_at     timestamptz not null,         -- its last: older than Suppressions:SoftBounceExpiry, the next starts again at 1
    last_report uuid        not null,         -- the report that counted last: the same report never counts twice in a row
    primary key (owner, address)
);
create index mailapi_soft_bounces_last_at on mailapi_soft_bounces (last_at);
