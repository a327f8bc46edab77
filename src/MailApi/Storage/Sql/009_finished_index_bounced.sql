-- MailApi store, version 9: bounced (a status since bounce reports came) is final too, so retention's partial index of
-- finished messages names it beside the other final statuses; the queries name the same list, and PostgreSQL uses the
-- index only when the query's statuses are among the index's.
drop index mailapi_messages_finished;
create index mailapi_messages_finished on mailapi_messages (updated_at)
    where status in ('sent', 'partially_sent', 'failed', 'canceled', 'bounced');
