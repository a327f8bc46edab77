using System.Reflection;
using MailApi.Messages;
using MailApi.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailApi.Tests.Messages;

/// <summary>Back-pressure reads the backlog in the background: a POST never waits for a count once there is a value.</summary>
public sealed class BacklogGaugeTests
{
    [Fact]
    public async Task A_stale_backlog_is_answered_at_once_while_the_next_count_runs_and_is_used_once_it_is_in()
    {
        var counts = new Queue<TaskCompletionSource<Backlog>>();
        var store = BacklogOnly.Create(() =>
        {
            var count = new TaskCompletionSource<Backlog>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (counts)
            {
                counts.Enqueue(count);
            }
            return count.Task;
        });
        var clock = new ManualClock();
        var gauge = new BacklogGauge(store, clock, NullLogger<BacklogGauge>.Instance);
        TaskCompletionSource<Backlog> Next()
        {
            lock (counts)
            {
                return counts.Dequeue();
            }
        }

        // The first request has nothing to go by: it waits for the count.
        var first = gauge.CurrentAsync(CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);
        Next().SetResult(new Backlog(10, 1000));
        Assert.Equal(new Backlog(10, 1000), await first);
        gauge.Stored(1, 100);

        // Stale: answered at once with what there is (this instance's own message counted), while a count runs.
        clock.Advance(BacklogGauge.Freshness);
        var stale = gauge.CurrentAsync(CancellationToken.None);
        Assert.True(stale.IsCompleted);
        Assert.Equal(new Backlog(11, 1100), await stale);
        await Poll.UntilAsync(() => { lock (counts) { return counts.Count == 1; } }, TimeSpan.FromSeconds(10), "the background count");
        Assert.Equal(new Backlog(11, 1100), await gauge.CurrentAsync(CancellationToken.None)); // one count at a time
        Next().SetResult(new Backlog(50, 5000));
        await Poll.UntilAsync(async () => await gauge.CurrentAsync(CancellationToken.None) == new Backlog(50, 5000), TimeSpan.FromSeconds(10), () => "the new count used");
        lock (counts)
        {
            Assert.Empty(counts);
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>A store that only counts its backlog (below the network line: the gauge's own logic is under test).</summary>
    public class BacklogOnly : DispatchProxy
    {
        private Func<Task<Backlog>> _backlog = null!;

        public static IMessageStore Create(Func<Task<Backlog>> backlog)
        {
            var store = DispatchProxy.Create<IMessageStore, BacklogOnly>();
            ((BacklogOnly)(object)store)._backlog = backlog;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IMessageStore.BacklogAsync) ? _backlog() : throw new NotSupportedException(targetMethod?.Name);
    }
}
