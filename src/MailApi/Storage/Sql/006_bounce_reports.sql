-- MailApi store, version 6: the bounce report log. One row per report, however often it was read (identity: the
-- report's own Message-ID, else a digest of its bytes), with its raw mail for GET /v1/bounces/{id}/raw.
create table mailapi_bounce_reports (
    id          uuid        primary key,     -- UUIDv7 of its arrival: the log's order and cursor
    identity    text        not null unique,
    received_at timestamptz not null,
    matched     boolean     not null,
    doc         jsonb       not null,
    raw         bytea       not null
);
create index mailapi_bounce_reports_matched on mailapi_bounce_reports (matched, id desc);

-- A report names the relay's queue id of the message it bounces, without the key: look it up across keys.
create index mailapi_messages_queue_id on mailapi_messages (queue_id) where queue_id is not null;
