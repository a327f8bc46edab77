using System.Diagnostics;
using MailApi.Storage;

namespace MailApi.Telemetry;

/// <summary>
/// The service's spans, on the activity source <see cref="SourceName"/>: a trace starts at the POST (ASP.NET Core's
/// server span), goes on in the Hangfire job that delivers the message (<see cref="TraceContextJobFilter"/>), one
/// <c>deliver</c> span per message, and one span per SMTP command batch below it (<see cref="SmtpTracing"/>).
/// Tags carry ids, relays and reply codes, never addresses or content.
/// </summary>
public static class MailApiTracing
{
    public const string SourceName = "MailApi";

    /// <summary>The message's id (the API's id, not the Message-ID header).</summary>
    public const string MessageIdTag = "mailapi.message.id";

    /// <summary>The relay, as host:port.</summary>
    public const string RelayTag = "mailapi.relay";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// The span and the log scope of one message's delivery: every span started and every line logged until it is
    /// disposed carries the message id.
    /// </summary>
    public static IDisposable Deliver(ILogger logger, Guid messageId)
    {
        var activity = Source.StartActivity("deliver");
        activity?.SetTag(MessageIdTag, messageId.ToString());
        var scope = logger.BeginScope(new Dictionary<string, object> { ["MessageId"] = messageId });
        return new Both(activity, scope);
    }

    /// <summary>Tags the current span (the POST's) with the ids of the messages it stored.</summary>
    public static void Stored(IReadOnlyList<StoredMessage> messages)
    {
        // A request's span exists for its log scope even when nobody records it: then tagging it would only allocate.
        if (Activity.Current is not { IsAllDataRequested: true } activity || messages.Count == 0)
        {
            return;
        }
        // A batch names its first message and its size; its messages' own spans carry each id.
        activity.SetTag(MessageIdTag, messages[0].Id.ToString());
        if (messages.Count > 1)
        {
            activity.SetTag("mailapi.message.count", messages.Count);
        }
    }

    private sealed class Both(Activity? activity, IDisposable? scope) : IDisposable
    {
        public void Dispose()
        {
            scope?.Dispose();
            activity?.Dispose();
        }
    }
}
