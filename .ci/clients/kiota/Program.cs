// The six steps with the client `kiota generate -l CSharp` writes (Generated/), the key sent as a Bearer token through
// Kiota's own bearer provider (its ApiKeyAuthenticationProvider accepts https only). Usage: dotnet run -- <service url> <api key>
using MailApi.ClientChecks;
using MailApi.Kiota;
using MailApi.Kiota.Models;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

var adapter = new HttpClientRequestAdapter(new BaseBearerTokenAuthenticationProvider(new StaticKey(args[1]))) { BaseUrl = args[0] };
var client = new MailApiClient(adapter);
var messages = client.V1.Messages;
SendMessageRequest Message(string step) => new() { From = Steps.From, To = [Steps.To], Subject = Steps.Subject(step), Text = Steps.Text };

Guid sent = default;
return await Steps.RunAsync("kiota",
    ("send a message", async () =>
    {
        var message = (await messages.PostAsync(Message("send")))!;
        Steps.Expect(message.Status is MessageStatus.Queued or MessageStatus.Sending or MessageStatus.Sent, $"queued, got {message.Status}");
        sent = message.Id!.Value;
        return $"{message.Id} {message.Status}, {message.Recipients!.Count} recipient(s)";
    }),
    ("poll it to sent", async () =>
    {
        var message = await Steps.PollAsync(async () => (await messages[sent].GetAsync())!, m => m.Status == MessageStatus.Sent, m => $"{m.Status}");
        Steps.Expect(message.FinalReply is { Code: 250 } && message.QueueId is not null, "a 250 final reply and a queue id");
        return $"{message.Status}, queue id {message.QueueId}, final reply {message.FinalReply!.Code} {message.FinalReply.Text}";
    }),
    ("list", async () =>
    {
        var page = (await messages.GetAsync(r =>
        {
            r.QueryParameters.StatusAsMessageStatus = MessageStatus.Sent;
            r.QueryParameters.Limit = 100;
        }))!;
        Steps.Expect(page.Items!.Any(m => m.Id == sent), "the sent message among the sent ones");
        return $"{page.Items!.Count} sent message(s), nextCursor {page.NextCursor ?? "null"}";
    }),
    ("schedule and cancel", async () =>
    {
        var request = Message("scheduled");
        request.SendAt = DateTimeOffset.UtcNow.AddHours(1);
        var scheduled = (await messages.PostAsync(request))!;
        Steps.Expect(scheduled.Status == MessageStatus.Scheduled && scheduled.SendAt is not null, $"scheduled, got {scheduled.Status}");
        var canceled = (await messages[scheduled.Id!.Value].Cancel.PostAsync())!;
        Steps.Expect(canceled.Status == MessageStatus.Canceled, $"canceled, got {canceled.Status}");
        return $"{scheduled.Id} {scheduled.Status} → {canceled.Status}";
    }),
    ("send an invalid one and read errors", async () =>
    {
        var request = Message("invalid");
        request.From = "not-an-address";
        try
        {
            await messages.PostAsync(request);
        }
        catch (ValidationProblem e)
        {
            // A map of JSON path → messages: Kiota keeps an open-ended object's members in AdditionalData.
            var errors = e.Errors!.AdditionalData;
            Steps.Expect(e.ResponseStatusCode == 400 && errors.ContainsKey("from"), "a 400 with errors.from");
            return $"{e.ResponseStatusCode}: errors {string.Join(", ", errors.Keys)}";
        }
        throw new InvalidOperationException("expected a 400");
    }),
    ("replay an Idempotency-Key", async () =>
    {
        var key = Guid.NewGuid().ToString();
        var first = (await messages.PostAsync(Message("idempotent"), r => r.Headers.Add("Idempotency-Key", key)))!;
        var second = (await messages.PostAsync(Message("idempotent"), r => r.Headers.Add("Idempotency-Key", key)))!;
        Steps.Expect(first.Id == second.Id, $"the same id twice, got {first.Id} and {second.Id}");
        return $"{first.Id} both times";
    }));

/// <summary>The API key as the bearer token, for any host and scheme (the service decides where it may be sent).</summary>
internal sealed class StaticKey(string key) : IAccessTokenProvider
{
    public AllowedHostsValidator AllowedHostsValidator { get; } = new();

    public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null,
        CancellationToken cancellationToken = default) => Task.FromResult(key);
}
