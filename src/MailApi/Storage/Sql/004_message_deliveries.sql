-- MailApi store, version 4: a message's webhook deliveries (GET /v1/messages/{id}/deliveries, the activity page's
-- timeline), found through the message id the delivery document carries, without reading any endpoint's whole log.
create index mailapi_webhook_deliveries_message on mailapi_webhook_deliveries ((doc->>'messageId'), id);
