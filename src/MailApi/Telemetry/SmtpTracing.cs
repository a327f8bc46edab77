using System.Diagnostics;
using System.Globalization;
using MailApi.Delivery.Smtp;
using MailKit;

namespace MailApi.Telemetry;

/// <summary>
/// Sits between MailKit's client and the <see cref="TranscriptRecorder"/> and turns each command batch into a span: what
/// the client writes until every command written has its reply (the greeting; EHLO; MAIL FROM with the RCPTs pipelined
/// after it; DATA; the content and its end of data; QUIT). The span is a child of the current span (the message's
/// <c>deliver</c>), tagged with the relay, the verbs, the reply codes and the message id; never an address or content,
/// which stay in the transcript.
/// </summary>
/// <remarks>
/// Timing comes from the bytes themselves: a batch starts at its first byte written and ends when the recorder has
/// paired its last reply. Nothing is traced outside a span (an idle connection's QUIT from the pool): no stray traces.
/// Like the recorder, one per connection and not thread-safe.
/// </remarks>
public sealed class SmtpTracing(TranscriptRecorder recorder, string relay) : IProtocolLogger
{
    private Activity? _batch;
    private int _first;

    /// <summary>Set by MailKit on the logger it is given; the recorder is the one that cuts the secrets out.</summary>
    public IAuthenticationSecretDetector? AuthenticationSecretDetector
    {
        get => recorder.AuthenticationSecretDetector;
        set => recorder.AuthenticationSecretDetector = value;
    }

    public void LogConnect(Uri uri)
    {
        End();
        recorder.LogConnect(uri);
        // The greeting is a batch with no command.
        Begin();
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        if (_batch is not null && _batch.TraceId != Activity.Current?.TraceId)
        {
            End();
        }
        if (_batch is null)
        {
            Begin();
        }
        recorder.LogClient(buffer, offset, count);
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        recorder.LogServer(buffer, offset, count);
        // The last command has its reply, so every command before it has (replies come in order): the batch is over.
        if (_batch is not null && recorder.LastEntry is { Reply: not null })
        {
            End();
        }
    }

    public void Dispose()
    {
        End();
        recorder.Dispose();
    }

    private void Begin()
    {
        if (!MailApiTracing.Source.HasListeners() || Activity.Current is not { } parent)
        {
            return;
        }
        _first = recorder.Entries.Count;
        // The batch is not made current: MailKit's own async calls would otherwise carry it on after the batch ended.
        _batch = MailApiTracing.Source.StartActivity("smtp", ActivityKind.Client);
        Activity.Current = parent;
        if (_batch is null)
        {
            return;
        }
        _batch.SetTag(MailApiTracing.RelayTag, relay);
        for (var a = parent; a is not null; a = a.Parent)
        {
            if (a.GetTagItem(MailApiTracing.MessageIdTag) is { } messageId)
            {
                _batch.SetTag(MailApiTracing.MessageIdTag, messageId);
                break;
            }
        }
    }

    private void End()
    {
        if (_batch is not { } batch)
        {
            return;
        }
        _batch = null;
        var entries = recorder.Entries;
        var first = _first <= entries.Count ? _first : 0;
        var verbs = new List<string>(entries.Count - first);
        var codes = new List<string>(entries.Count - first);
        SmtpReply? worst = null;
        foreach (var entry in entries.Skip(first))
        {
            verbs.Add(SmtpLabels.Command(entry.Command));
            codes.Add(entry.Reply?.Code.ToString(CultureInfo.InvariantCulture) ?? "none");
            if (entry.Reply is { Code: >= 400 } reply && (worst is null || reply.Code > worst.Code))
            {
                worst = reply;
            }
        }
        if (verbs.Count > 0)
        {
            batch.DisplayName = "SMTP " + string.Join(' ', verbs.Distinct());
            batch.SetTag("smtp.commands", string.Join(' ', verbs));
            batch.SetTag("smtp.reply.codes", string.Join(' ', codes));
            if (entries[^1].Reply is { } last)
            {
                batch.SetTag("smtp.reply.code", last.Code);
            }
        }
        if (worst is not null)
        {
            batch.SetStatus(ActivityStatusCode.Error, worst.Code.ToString(CultureInfo.InvariantCulture));
        }
        else if (verbs.Count == 0 || entries[^1].Reply is null)
        {
            batch.SetStatus(ActivityStatusCode.Error, "no reply");
        }
        batch.Dispose();
    }
}
