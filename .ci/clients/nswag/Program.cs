// The six steps with the client `nswag openapi2csclient` generates with its defaults (Generated/MailApiClient.cs),
// the key sent as X-Api-Key on the HttpClient the client is given. Usage: dotnet run -- <service url> <api key>
using MailApi.ClientChecks;
using MailApi.NSwag;

using var http = new HttpClient();
http.DefaultRequestHeaders.Add("X-Api-Key", args[1]);
var client = new Client(http) { BaseUrl = args[0] };
SendMessageRequest Message(string step) => new() { From = Steps.From, To = [Steps.To], Subject = Steps.Subject(step), Text = Steps.Text };

Guid sent = default;
return await Steps.RunAsync("nswag",
    ("send a message", async () =>
    {
        // The optional Idempotency-Key comes first in NSwag's signature (it keeps the document's order): null here.
        var message = await client.SendMessageAsync(null, Message("send"));
        Steps.Expect(message.Status is MessageStatus.Queued or MessageStatus.Sending or MessageStatus.Sent, $"queued, got {message.Status}");
        Steps.Expect(message.FinalReply is null || message.Status == MessageStatus.Sent, "no final reply before the relay answered");
        sent = message.Id;
        return $"{message.Id} {message.Status}, {message.Recipients.Count} recipient(s), reply {(message.Recipients.First().Reply is null ? "null" : "set")}";
    }),
    ("poll it to sent", async () =>
    {
        var message = await Steps.PollAsync(() => client.GetMessageAsync(sent), m => m.Status == MessageStatus.Sent, m => m.Status.ToString());
        Steps.Expect(message.FinalReply is { Code: 250 } && message.QueueId is not null, "a 250 final reply and a queue id");
        return $"{message.Status}, queue id {message.QueueId}, final reply {message.FinalReply!.Code} {message.FinalReply.Text}";
    }),
    ("list", async () =>
    {
        var page = await client.ListMessagesAsync(MessageStatus.Sent, null, null, null, null, null, null, 100, null);
        Steps.Expect(page.Items.Any(m => m.Id == sent), "the sent message among the sent ones");
        return $"{page.Items.Count} sent message(s), nextCursor {page.NextCursor ?? "null"}";
    }),
    ("schedule and cancel", async () =>
    {
        var request = Message("scheduled");
        request.SendAt = DateTimeOffset.UtcNow.AddHours(1);
        var scheduled = await client.SendMessageAsync(null, request);
        Steps.Expect(scheduled.Status == MessageStatus.Scheduled && scheduled.SendAt is not null, $"scheduled, got {scheduled.Status}");
        var canceled = await client.CancelMessageAsync(scheduled.Id);
        Steps.Expect(canceled.Status == MessageStatus.Canceled, $"canceled, got {canceled.Status}");
        return $"{scheduled.Id} {scheduled.Status} → {canceled.Status}";
    }),
    ("send an invalid one and read errors", async () =>
    {
        var request = Message("invalid");
        request.From = "not-an-address";
        try
        {
            await client.SendMessageAsync(null, request);
        }
        catch (ApiException<ValidationProblem> e)
        {
            Steps.Expect(e.StatusCode == 400 && e.Result.Errors.ContainsKey("from"), "a 400 with errors.from");
            return $"{e.StatusCode}: from → {e.Result.Errors["from"].First()}";
        }
        throw new InvalidOperationException("expected a 400");
    }),
    ("replay an Idempotency-Key", async () =>
    {
        var key = Guid.NewGuid().ToString();
        var first = await client.SendMessageAsync(key, Message("idempotent"));
        var second = await client.SendMessageAsync(key, Message("idempotent"));
        Steps.Expect(first.Id == second.Id, $"the same id twice, got {first.Id} and {second.Id}");
        return $"{first.Id} both times";
    }));
