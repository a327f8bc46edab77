// The six steps (../Shared/Steps.cs) with the client `nswag openapi2csclient` generates with its defaults
// (Generated/MailApiClient.cs), the key sent as X-Api-Key on the HttpClient it is given.
// Usage: dotnet run -- <service url> <api key>
using MailApi.ClientChecks;
using MailApi.NSwag;

using var http = new HttpClient();
http.DefaultRequestHeaders.Add("X-Api-Key", args[1]);
return await Steps.RunAsync("nswag", new NSwagSteps(new Client(http) { BaseUrl = args[0] }));

internal sealed class NSwagSteps(Client client) : IClientUnderTest
{
    public async Task<(Guid Id, string Status, bool RepliesNull)> SendAsync(SendOptions options)
    {
        // NSwag keeps the document's order: the optional Idempotency-Key comes before the body.
        var message = await client.SendMessageAsync(options.IdempotencyKey, Message(options.Subject, Steps.From, options.SendAt));
        return (message.Id, message.Status.ToString(), message.FinalReply is null && message.Recipients.All(r => r.Reply is null));
    }

    public async Task<(string Status, int? FinalCode, string? QueueId)> GetAsync(Guid id)
    {
        var message = await client.GetMessageAsync(id);
        return (message.Status.ToString(), message.FinalReply?.Code, message.QueueId);
    }

    public async Task<IReadOnlyList<Guid>> ListSentAsync() =>
        [.. (await client.ListMessagesAsync(MessageStatus.Sent, null, null, null, null, null, null, 100, null)).Items.Select(m => m.Id)];

    public async Task<string> CancelAsync(Guid id) => (await client.CancelMessageAsync(id)).Status.ToString();

    public async Task<(int Status, IReadOnlyCollection<string> Paths)> SendInvalidAsync()
    {
        try
        {
            await client.SendMessageAsync(null, Message("invalid", Steps.NotAnAddress, null));
            return (202, []);
        }
        catch (ApiException<ValidationProblem> e)
        {
            return (e.StatusCode, [.. e.Result.Errors.Keys]);
        }
    }

    private static SendMessageRequest Message(string subject, string from, DateTimeOffset? sendAt) =>
        new() { From = from, To = [Steps.To], Subject = subject, Text = Steps.Text, SendAt = sendAt };
}
