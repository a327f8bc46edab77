using System.Reflection;
using MailApi.Messages;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailApi.Tests.Messages;

/// <summary>Back-pressure reads the backlog in the background: a POST never waits for a count once there is a value.</summary>
public sealed class BacklogGaugeTests
{
    /// <summary>Limits the backlogs of these tests (10 to 50 messages) are near: a read is stale after <see cref="BacklogGauge.Freshness"/>.</summary>
    private static readonly LimitsOptions Near = new() { MaxPendingMessages = 20 };

    [Fact]
    public async Task A_stale_backlog_is_answered_at_once_while_the_next_count_runs_and_is_used_once_it_is_in()
    {
        var (counts, clock, gauge) = NewGauge(Near);

        // The first request has nothing to go by: it waits for the count.
        var first = gauge.CurrentAsync(CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);
        (await counts.NextAsync()).SetResult(new Backlog(10, 1000));
        Assert.Equal(new Backlog(10, 1000), await first);
        gauge.Stored(1, 100);

        // Stale: answered at once with what there is (this instance's own message counted), while a count runs.
        clock.Advance(BacklogGauge.Freshness);
        var stale = gauge.CurrentAsync(CancellationToken.None);
        Assert.True(stale.IsCompleted);
        Assert.Equal(new Backlog(11, 1100), await stale);
        var count = await counts.NextAsync();
        Assert.Equal(new Backlog(11, 1100), await gauge.CurrentAsync(CancellationToken.None)); // one count at a time
        count.SetResult(new Backlog(50, 5000));
        await Poll.UntilAsync(async () => await gauge.CurrentAsync(CancellationToken.None) == new Backlog(50, 5000), TimeSpan.FromSeconds(10), () => "the new count used");
        Assert.Equal(0, counts.Waiting);
    }

    [Fact]
    public async Task A_message_stored_while_a_count_runs_stays_counted_when_the_count_missed_it()
    {
        var (counts, clock, gauge) = NewGauge(Near);
        var first = gauge.CurrentAsync(CancellationToken.None).AsTask();
        (await counts.NextAsync()).SetResult(new Backlog(10, 1000));
        await first;

        clock.Advance(BacklogGauge.Freshness);
        await gauge.CurrentAsync(CancellationToken.None);
        var count = await counts.NextAsync();
        // Stored (committed) after the count read the table, which it then answers without this message.
        gauge.Stored(1, 100);
        count.SetResult(new Backlog(20, 2000));

        Backlog now = default;
        await Poll.UntilAsync(async () => (now = await gauge.CurrentAsync(CancellationToken.None)).Messages >= 20, TimeSpan.FromSeconds(10),
            () => "the new count used");
        Assert.Equal(new Backlog(21, 2100), now);
    }

    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(49_999, 1_073_741_823, false)]
    [InlineData(50_000, 0, true)]
    [InlineData(0, 1_073_741_824, true)]
    public void A_read_is_stale_sooner_from_half_of_either_limit_on(long messages, long bytes, bool near)
    {
        var (_, _, gauge) = NewGauge(new LimitsOptions { MaxPendingMessages = 100_000, MaxPendingBytes = 2L * 1024 * 1024 * 1024 });

        Assert.Equal(near ? BacklogGauge.Freshness : BacklogGauge.FarFreshness, gauge.MaxAge(new Backlog(messages, bytes)));
    }

    [Fact]
    public async Task Far_below_the_limits_a_read_is_counted_again_once_it_is_far_freshness_old()
    {
        var (counts, clock, gauge) = NewGauge(new LimitsOptions());
        var first = gauge.CurrentAsync(CancellationToken.None).AsTask();
        (await counts.NextAsync()).SetResult(new Backlog(10, 1000));
        await first;

        clock.Advance(BacklogGauge.FarFreshness);
        Assert.Equal(new Backlog(10, 1000), await gauge.CurrentAsync(CancellationToken.None));
        (await counts.NextAsync()).SetResult(new Backlog(30, 3000));
        await Poll.UntilAsync(async () => await gauge.CurrentAsync(CancellationToken.None) == new Backlog(30, 3000), TimeSpan.FromSeconds(10), () => "the new count used");
    }

    private static (HeldCounts Counts, ManualClock Clock, BacklogGauge Gauge) NewGauge(LimitsOptions limits)
    {
        var counts = new HeldCounts();
        var clock = new ManualClock();
        return (counts, clock, new BacklogGauge(counts.Store, Options.Create(limits), clock, NullLogger<BacklogGauge>.Instance));
    }

    /// <summary>Counts of the backlog that wait until the test answers them, one at a time in the order they were asked.</summary>
    private sealed class HeldCounts
    {
        private readonly Queue<TaskCompletionSource<Backlog>> _asked = new();

        public HeldCounts() => Store = BacklogOnly.Create(() =>
        {
            var count = new TaskCompletionSource<Backlog>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_asked)
            {
                _asked.Enqueue(count);
            }
            return count.Task;
        });

        public IMessageStore Store { get; }

        public int Waiting
        {
            get
            {
                lock (_asked)
                {
                    return _asked.Count;
                }
            }
        }

        /// <summary>The next count asked for, once the gauge has asked (a background count starts on a thread of its own).</summary>
        public async Task<TaskCompletionSource<Backlog>> NextAsync()
        {
            await Poll.UntilAsync(() => Waiting > 0, TimeSpan.FromSeconds(10), "the gauge to ask for a count");
            lock (_asked)
            {
                return _asked.Dequeue();
            }
        }
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
