// The six steps (../Shared/Steps.cs) with the client `kiota generate -l CSharp` writes (Generated/), the key sent as a
// Bearer token through Kiota's own bearer provider (its ApiKeyAuthenticationProvider accepts https only).
// Usage: dotnet run -- <service url> <api key>
using MailApi.ClientChecks;
using MailApi.Kiota;
using MailApi.Kiota.Models;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

var adapter = new HttpClientRequestAdapter(new BaseBearerTokenAuthenticationProvider(new StaticKey(args[1]))) { BaseUrl = args[0] };
return await Steps.RunAsync("kiota", new KiotaSteps(new MailApiClient(adapter)));

internal sealed class KiotaSteps(MailApiClient client) : IClientUnderTest
{
    public async Task<(Guid Id, string Status, bool RepliesNull)> SendAsync(SendOptions options)
    {
        var message = (await client.V1.Messages.PostAsync(Message(options.Subject, Steps.From, options.SendAt), r =>
        {
            if (options.IdempotencyKey is not null)
            {
                r.Headers.Add("Idempotency-Key", options.IdempotencyKey);
            }
        }))!;
        return (message.Id!.Value, $"{message.Status}", message.FinalReply is null && message.Recipients!.All(r => r.Reply is null));
    }

    public async Task<(string Status, int? FinalCode, string? QueueId)> GetAsync(Guid id)
    {
        var message = (await client.V1.Messages[id].GetAsync())!;
        return ($"{message.Status}", message.FinalReply?.Code, message.QueueId);
    }

    public async Task<IReadOnlyList<Guid>> ListSentAsync() =>
        [.. (await client.V1.Messages.GetAsync(r =>
        {
            r.QueryParameters.StatusAsMessageStatus = MessageStatus.Sent;
            r.QueryParameters.Limit = 100;
        }))!.Items!.Select(m => m.Id!.Value)];

    public async Task<string> CancelAsync(Guid id) => $"{(await client.V1.Messages[id].Cancel.PostAsync())!.Status}";

    public async Task<(int Status, IReadOnlyCollection<string> Paths)> SendInvalidAsync()
    {
        try
        {
            await client.V1.Messages.PostAsync(Message("invalid", Steps.NotAnAddress, null));
            return (202, []);
        }
        catch (ValidationProblem e)
        {
            // A map of JSON path → messages: Kiota keeps an open-ended object's members in AdditionalData.
            return (e.ResponseStatusCode, [.. e.Errors!.AdditionalData.Keys]);
        }
    }

    private static SendMessageRequest Message(string subject, string from, DateTimeOffset? sendAt) =>
        new() { From = from, To = [Steps.To], Subject = subject, Text = Steps.Text, SendAt = sendAt };
}

/// <summary>The API key as the bearer token, for any host and scheme (the service decides where it may be sent).</summary>
internal sealed class StaticKey(string key) : IAccessTokenProvider
{
    public AllowedHostsValidator AllowedHostsValidator { get; } = new();

    public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null,
        CancellationToken cancellationToken = default) => Task.FromResult(key);
}
