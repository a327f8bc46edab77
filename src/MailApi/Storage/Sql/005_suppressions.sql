-- MailApi store, version 5: each API key's suppression list. The primary key (owner, address) is the index a send
-- looks up per recipient; addresses are in the list's normal form (lower case, the domain as its A-label).
create table mailapi_suppressions (
    owner      text        not null,         -- API key name
    address    text        not null,
    id         uuid        not null,         -- UUIDv7 of its creation: the list's order and cursor
    reason     text        not null,
    created_at timestamptz not null,
    expires_at timestamptz,                  -- null: never
    source     jsonb,
    primary key (owner, address)
);
create index mailapi_suppressions_list on mailapi_suppressions (owner, id desc);
