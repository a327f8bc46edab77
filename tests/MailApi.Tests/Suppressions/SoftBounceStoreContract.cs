using MailApi.Storage;
using MailApi.Suppressions;

using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Suppressions;

/// <summary>
/// The soft-bounce streaks of <see cref="ISoftBounceStore"/>, in memory and on PostgreSQL, with the times given rather
/// than waited for: a stale streak starts again, one report counts once, an end after a suppression spares a streak
/// started again meanwhile, retention purges stale ones, and counts taken at once are each counted.
/// </summary>
public abstract class SoftBounceStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Expiry = TimeSpan.FromDays(7);

    protected abstract Task<ISoftBounceStore> StoreAsync();

    /// <summary>A key of its own, so tests sharing a database never count each other's bounces.</summary>
    private readonly string _owner = "key-" + Guid.NewGuid().ToString("N")[..8];

    private static Task<SoftBounceStreak?> CountAsync(ISoftBounceStore store, string owner, DateTimeOffset at, Guid? report = null) =>
        store.CountAsync(owner, "bob@full.test", report ?? Guid.NewGuid(), at, at - Expiry, CancellationToken.None);

    [Fact]
    public async Task Soft_bounces_count_up_and_one_after_the_expiry_starts_again()
    {
        var store = await StoreAsync();

        Assert.Equal(new SoftBounceStreak(1, T0), await CountAsync(store, _owner, T0));
        Assert.Equal(new SoftBounceStreak(2, T0), await CountAsync(store, _owner, T0.AddDays(6)));
        // Six days after the last: still in a row (the window runs from the last bounce, not the first).
        Assert.Equal(new SoftBounceStreak(3, T0), await CountAsync(store, _owner, T0.AddDays(12)));
        var late = T0.AddDays(12) + Expiry + TimeSpan.FromSeconds(1);
        Assert.Equal(new SoftBounceStreak(1, late), await CountAsync(store, _owner, late));
        // Another key's streak for the same address is its own.
        Assert.Equal(1, (await CountAsync(store, _owner + "-other", late))?.Count);
    }

    [Fact]
    public async Task The_same_report_counts_once()
    {
        var store = await StoreAsync();
        var report = Guid.NewGuid();

        Assert.Equal(1, (await CountAsync(store, _owner, T0, report))?.Count);
        Assert.Null(await CountAsync(store, _owner, T0.AddMinutes(1), report));
        Assert.Equal(2, (await CountAsync(store, _owner, T0.AddMinutes(2)))?.Count);
    }

    [Fact]
    public async Task Ending_a_streak_at_a_count_spares_a_shorter_one_and_ending_it_outright_does_not()
    {
        var store = await StoreAsync();
        await CountAsync(store, _owner, T0);
        await CountAsync(store, _owner, T0.AddMinutes(1));

        await store.EndAsync(_owner, "bob@full.test", 3, CancellationToken.None);
        Assert.Equal(3, (await CountAsync(store, _owner, T0.AddMinutes(2)))?.Count);
        await store.EndAsync(_owner, "bob@full.test", 3, CancellationToken.None);
        Assert.Equal(1, (await CountAsync(store, _owner, T0.AddMinutes(3)))?.Count);
        await store.EndAsync(_owner, "bob@full.test", 0, CancellationToken.None);
        Assert.Equal(new SoftBounceStreak(1, T0.AddMinutes(4)), await CountAsync(store, _owner, T0.AddMinutes(4)));
    }

    [Fact]
    public async Task Retention_purges_the_streaks_whose_last_bounce_is_before_the_cut()
    {
        var store = await StoreAsync();
        // Far in the past, so that this test's cut leaves other tests' streaks (in a shared database) alone.
        var old = T0.AddYears(-20);
        await store.CountAsync(_owner, "stale@full.test", Guid.NewGuid(), old, old - Expiry, CancellationToken.None);
        await store.CountAsync(_owner, "fresh@full.test", Guid.NewGuid(), old.AddDays(2), old - Expiry, CancellationToken.None);

        Assert.Equal(1, await store.PurgeAsync(old.AddDays(1), CancellationToken.None));
        Assert.Equal(1, (await store.CountAsync(_owner, "stale@full.test", Guid.NewGuid(), old.AddDays(3), old - Expiry, CancellationToken.None))?.Count);
        Assert.Equal(2, (await store.CountAsync(_owner, "fresh@full.test", Guid.NewGuid(), old.AddDays(3), old - Expiry, CancellationToken.None))?.Count);
    }

    [Fact]
    public async Task Counts_taken_at_once_each_see_a_count_of_their_own()
    {
        const int count = 40;
        var store = await StoreAsync();

        var streaks = await Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => CountAsync(store, _owner, T0.AddSeconds(i)))));

        Assert.Equal(Enumerable.Range(1, count), streaks.Select(s => s!.Count).Order());
    }
}

public sealed class InMemorySoftBounceStoreTests : SoftBounceStoreContract
{
    protected override Task<ISoftBounceStore> StoreAsync() => Task.FromResult<ISoftBounceStore>(new InMemorySoftBounceStore());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlSoftBounceStoreTests : SoftBounceStoreContract
{
    private static readonly Lazy<Task<ISoftBounceStore>> Shared = new(async () =>
    {
        return new PostgreSqlSoftBounceStore(await MigratedDatabase.CreateAsync());
    });

    protected override Task<ISoftBounceStore> StoreAsync()
    {
        if (Postgres.ServerConnectionString is null)
        {
            Assert.Skip(Postgres.HowToGet);
        }
        return Shared.Value;
    }
}
