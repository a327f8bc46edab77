-- MailApi store, version 3: webhook endpoints and their deliveries. Message events need no table: they are kept in
-- the message document, so the compare-and-set that changes a status writes its event in the same statement.
create table mailapi_webhook_endpoints (
    id         uuid primary key,             -- UUIDv7
    owner      text   not null,              -- API key name
    version    bigint not null,              -- compare-and-set token
    doc        jsonb  not null
);
create index mailapi_webhook_endpoints_owner on mailapi_webhook_endpoints (owner, id);

-- One delivery per (endpoint, event): dispatching an event again creates nothing twice.
create table mailapi_webhook_deliveries (
    id              uuid primary key,        -- UUIDv7, the webhook-id of every try
    endpoint_id     uuid   not null references mailapi_webhook_endpoints (id) on delete cascade,
    event_id        uuid   not null,
    status          text   not null,
    next_attempt_at timestamptz,
    version         bigint not null,
    doc             jsonb  not null,
    unique (endpoint_id, event_id)
);
create index mailapi_webhook_deliveries_endpoint on mailapi_webhook_deliveries (endpoint_id, id desc);
-- The sweep for deliveries whose job was lost looks only at pending ones.
create index mailapi_webhook_deliveries_due on mailapi_webhook_deliveries (next_attempt_at) where status = 'pending';

-- How many of a message's events were turned into deliveries, so the sweep finds events whose dispatch job was lost
-- (a crash between the message's write and the job's enqueue). Written only for owners that have endpoints.
create table mailapi_webhook_dispatched (
    message_id uuid primary key references mailapi_messages (id) on delete cascade,
    sequence   int not null
);
