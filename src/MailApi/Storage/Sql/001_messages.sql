-- MailApi message store, version 1. Applied once, in a transaction, under an advisory lock.
-- The whole message is the jsonb document; the columns beside it are what filters, paging and the job need.
create table mailapi_messages (
    id              uuid primary key,            -- UUIDv7: the order of ids is the order of creation
    owner           text        not null,        -- API key name
    status          text        not null,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    send_at         timestamptz,
    next_attempt_at timestamptz,
    sender          text        not null,        -- bare address, lower case
    recipients      text[]      not null,        -- bare addresses (To, Cc, Bcc), lower case
    tags            text[]      not null,
    queue_id        text,
    worker          text,                        -- the instance holding it while 'sending'
    content_purged  boolean     not null default false,
    version         bigint      not null,        -- compare-and-set token
    doc             jsonb       not null
);

-- GET /v1/messages: one owner's messages, newest first, optionally by status; cursor = id.
create index mailapi_messages_owner_id on mailapi_messages (owner, id desc);
create index mailapi_messages_owner_status_id on mailapi_messages (owner, status, id desc);
create index mailapi_messages_owner_sender_id on mailapi_messages (owner, sender, id desc);
create index mailapi_messages_owner_queue_id on mailapi_messages (owner, queue_id) where queue_id is not null;
create index mailapi_messages_recipients on mailapi_messages using gin (recipients);
create index mailapi_messages_tags on mailapi_messages using gin (tags);
-- Back-pressure count and the orphan sweep look only at unfinished messages.
create index mailapi_messages_pending on mailapi_messages (status, updated_at)
    where status in ('scheduled', 'queued', 'sending', 'deferred');
-- Retention looks only at finished ones.
create index mailapi_messages_finished on mailapi_messages (updated_at)
    where status in ('sent', 'partially_sent', 'failed', 'canceled');

-- Idempotency-Key claims: one per (owner, key) while unexpired; a batch claims all its messages at once.
create table mailapi_idempotency (
    owner        text        not null,
    key          text        not null,
    request_hash text        not null,
    message_ids  uuid[]      not null,
    expires_at   timestamptz not null,
    primary key (owner, key)
);

-- Heartbeats of the instances sharing this database.
create table mailapi_instances (
    id           text primary key,
    heartbeat_at timestamptz not null
);
