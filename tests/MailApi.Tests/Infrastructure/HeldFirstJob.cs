using System.Collections.Concurrent;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Infrastructure;

/// <summary>
/// Hangfire's job client with the creation of the first job that <c>holds</c> picks held until the test lets it go, and
/// every job it picks recorded: what a test of group commit needs to make callers come while a job is being created.
/// </summary>
public sealed class HeldFirstJob(IBackgroundJobClient inner, Func<Job, bool> holds) : IBackgroundJobClient
{
    private readonly ManualResetEventSlim _released = new();
    private int _held;

    /// <summary>Set once the first picked job's creation has begun (and waits for <see cref="Release"/>).</summary>
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The picked jobs, in the order they were created.</summary>
    public ConcurrentQueue<Job> Created { get; } = new();

    /// <summary>Wraps the service's job client (registered by Hangfire) in one; resolve <see cref="IBackgroundJobClient"/> to get it.</summary>
    public static void Install(IServiceCollection services, Func<Job, bool> holds)
    {
        var original = services.Last(d => d.ServiceType == typeof(IBackgroundJobClient));
        services.AddSingleton<IBackgroundJobClient>(s => new HeldFirstJob((IBackgroundJobClient)original.ImplementationFactory!(s), holds));
    }

    public void Release() => _released.Set();

    public string Create(Job job, IState state)
    {
        if (holds(job))
        {
            if (Interlocked.Increment(ref _held) == 1)
            {
                Entered.SetResult();
                _released.Wait();
            }
            Created.Enqueue(job);
        }
        return inner.Create(job, state);
    }

    public bool ChangeState(string jobId, IState state, string expectedState) => inner.ChangeState(jobId, state, expectedState);
}
