-- MailApi store, version 8: the mail an IMAP report was read from (its IMAP URL, RFC 5092: mailbox, UIDVALIDITY, UID), so
-- the reader knows a mail it took before a crash kept it from moving the mail, without reading or parsing it again. One
-- mail is one report: unique where set (reports handed in over HTTP have none).
alter table mailapi_bounce_reports add column source text;
create unique index mailapi_bounce_reports_source on mailapi_bounce_reports (source) where source is not null;
