using System.Diagnostics;

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
    public static void Stored(IReadOnlyList<Guid> messageIds)
    {
        if (Activity.Current is not { } activity || messageIds.Count == 0)
        {
            return;
        }
        // A batch names its first message and its size; its messages' own spans carry each id.
        activity.SetTag(MessageIdTag, messageIds[0].ToString());
        if (messageIds.Count > 1)
        {
            activity.SetTag("mailapi.message.count", messageIds.Count);
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
