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

    /// <summary>The ids a job carries as its first argument: one (a job for one) or several (a shared job).</summary>
    public static Guid[] Ids(Job job) => job.Args[0] switch
    {
        Guid id => [id],
        Guid[] ids => ids,
        var other => throw new InvalidOperationException($"A job with {other} for its ids."),
    };
}

/// <summary>A count that a test waits to reach (calls a decorator has handed on), never a time.</summary>
public sealed class HandedOver
{
    private int _count;

    public void Add() => Interlocked.Increment(ref _count);

    /// <summary>Waits until <paramref name="count"/> calls were handed on; a minute is only the give-up.</summary>
    public async Task WaitForAsync(int count)
    {
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (Volatile.Read(ref _count) < count)
        {
            await Task.Delay(10, giveUp.Token);
        }
    }
}
