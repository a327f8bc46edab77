using System.Diagnostics;
using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;

namespace MailApi.Telemetry;

/// <summary>
/// Carries the trace from whoever creates a Hangfire job (the POST, or the job that schedules a retry) to the job:
/// the creator's W3C <c>traceparent</c> is a job parameter, and the job runs inside a span whose parent it is. A job
/// created outside any span (the orphan sweep) starts a trace of its own.
/// </summary>
public sealed class TraceContextJobFilter : JobFilterAttribute, IClientFilter, IServerFilter
{
    private const string Parameter = "traceparent";
    private const string ActivityItem = "MailApi.Activity";

    public void OnCreating(CreatingContext context)
    {
        // Only a span someone records: ASP.NET Core makes an unrecorded one for every request's log scope, and a job
        // parameter is one more row per job in Hangfire's store.
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C, Recorded: true } current)
        {
            context.SetJobParameter(Parameter, current.Id);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        var traceparent = context.GetJobParameter<string>(Parameter, allowStale: true);
        ActivityContext.TryParse(traceparent, null, out var parent);
        var job = context.BackgroundJob.Job;
        var activity = MailApiTracing.Source.StartActivity($"{job.Type.Name}.{job.Method.Name}", ActivityKind.Consumer, parent);
        activity?.SetTag("hangfire.job.id", context.BackgroundJob.Id);
        context.Items[ActivityItem] = activity;
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ActivityItem, out var item) && item is Activity activity)
        {
            if (context.Exception is { } exception)
            {
                activity.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
            }
            activity.Dispose();
        }
    }
}
