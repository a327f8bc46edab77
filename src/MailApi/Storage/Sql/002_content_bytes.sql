-- MailApi message store, version 2: the bytes of content each message holds, so back-pressure can count them
-- (Limits:MaxPendingBytes) without reading the documents.
alter table mailapi_messages add column content_bytes bigint not null default 0;
