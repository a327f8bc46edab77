using Hangfire;
using MailApi.Storage;

namespace MailApi.Delivery;

/// <summary>A job for several messages: those still queued are taken in groups, in one write each, and put back on shutdown.</summary>
public sealed partial class DeliveryJob
{
    /// <summary>
    /// Several messages, one after the other, each exactly as <see cref="RunAsync"/> delivers it. Those still queued are
    /// taken <see cref="TakeAtOnce"/> at a time in one write (<see cref="IMessageStore.TakeQueuedAsync"/>); the rest (due
    /// retries, scheduled messages, takeovers) go the one-message way. One that fails (a storage outage) does not stop the
    /// rest: it stays waiting in the store, where the orphan sweep finds it.
    /// </summary>
    /// <remarks>
    /// The next message's dialogue starts while the previous one's outcome is still being written: that one stays
    /// <c>sending</c> on this live instance and held in <see cref="InFlightMessages"/> until its write commits, so no one
    /// else can send it meanwhile, and the job waits for that write before the dialogue after, and before it puts anything
    /// back or ends.
    /// </remarks>
    [AutomaticRetry(Attempts = 0)]
    public Task RunManyAsync(Guid[] messageIds, CancellationToken cancellationToken) =>
        HoldingAWorkerAsync(() => DeliverManyAsync(messageIds, cancellationToken), cancellationToken);

    /// <summary>
    /// A job's own messages, then those handed to the running jobs (<see cref="BusyWorkers"/>),
    /// until none is left or another job waits while every worker is busy. The last job to leave gives what is still handed
    /// off jobs of its own, so no stored message waits for a job that will not come.
    /// </summary>
    private async Task HoldingAWorkerAsync(Func<Task> own, CancellationToken cancellationToken)
    {
        busyWorkers.Enter();
        try
        {
            await own();
            while (!cancellationToken.IsCancellationRequested && busyWorkers.TryTake(TakeAtOnce, out var handedOff))
            {
                await DeliverManyAsync(handedOff, cancellationToken);
            }
        }
        finally
        {
            if (busyWorkers.Leave() is { Length: > 0 } waiting)
            {
                await JobsOfTheirOwnAsync(waiting);
            }
        }
    }

    /// <summary>Handed-off messages no running job will take: jobs of their own, or, should that fail, the orphan sweep's.</summary>
    private async Task JobsOfTheirOwnAsync(Guid[] messageIds)
    {
        try
        {
            await queue.EnqueueAsync(messageIds);
        }
        catch (Exception ex)
        {
            logger.LogWarning("{Count} queued message(s) got no job ({Error}); the orphan sweep queues them again", messageIds.Length, ex.Message);
        }
    }

    /// <summary>Messages of a job, or handed off to it, in groups of <see cref="TakeAtOnce"/>.</summary>
    private async Task DeliverManyAsync(Guid[] messageIds, CancellationToken cancellationToken)
    {
        foreach (var group in messageIds.Chunk(TakeAtOnce))
        {
            // Shutdown: what is left is put back (below) or never taken, for the next instance, rather than half-done here.
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            var taken = await TakeQueuedAsync(group, cancellationToken);
            // The latest message's delivery, whose outcome may still be being written.
            var writing = Task.CompletedTask;
            try
            {
                foreach (var messageId in group)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                    var dialoguesOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var delivery = DeliverOneOfManyAsync(messageId, taken.Remove(messageId, out var message) ? message : null, dialoguesOver, cancellationToken);
                    await Task.WhenAny(dialoguesOver.Task, delivery);
                    // The one before this is awaited now; should it throw, the finally awaits this one.
                    (writing, var previous) = (delivery, writing);
                    await previous;
                }
            }
            finally
            {
                try
                {
                    await writing;
                }
                finally
                {
                    await ReleaseAsync(taken.Values);
                }
            }
        }
    }

    /// <summary>One message of <see cref="RunManyAsync"/>; a failure is logged, not thrown, so the job goes on.</summary>
    private async Task DeliverOneOfManyAsync(Guid messageId, StoredMessage? taken, TaskCompletionSource dialoguesOver, CancellationToken cancellationToken)
    {
        try
        {
            await (taken is not null ? SendTakenAsync(taken, cancellationToken, dialoguesOver) : RunOneAsync(messageId, cancellationToken, dialoguesOver));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Delivering message {MessageId} failed; the orphan sweep queues it again", messageId);
        }
    }

    /// <summary>
    /// How many queued messages a job takes in one write: one statement and commit for ten instead of ten reads and ten
    /// writes. An instance killed outright leaves those it took but had not begun <c>sending</c>, and whoever takes them
    /// over cannot tell them from the one in its dialogue, so each is flagged <c>possibleDuplicate</c> when sent: at most
    /// this many a worker, of which only the one that was in its dialogue can have reached the relay before.
    /// </summary>
    public const int TakeAtOnce = 10;

    /// <summary>Takes the queued ones of <paramref name="messageIds"/>, each held in <see cref="InFlightMessages"/> from before it is taken.</summary>
    private async Task<Dictionary<Guid, StoredMessage>> TakeQueuedAsync(Guid[] messageIds, CancellationToken cancellationToken)
    {
        // Held before the write, or the orphan sweep could see one sending on this instance without a job.
        var entered = messageIds.Distinct().Where(inFlight.TryEnter).ToList();
        try
        {
            var taken = (await store.TakeQueuedAsync(entered, worker.Id, clock.GetUtcNow(), cancellationToken)).ToDictionary(m => m.Id);
            foreach (var id in entered.Where(id => !taken.ContainsKey(id)))
            {
                inFlight.Exit(id);
            }
            foreach (var message in taken.Values)
            {
                // Queued since it was made: that is when it became due.
                progress.Took(message.CreatedAt);
            }
            return taken;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            foreach (var id in entered)
            {
                inFlight.Exit(id);
            }
            logger.LogWarning("Taking {Count} queued messages at once failed ({Error}); each is tried on its own", entered.Count, ex.Message);
            return [];
        }
    }

    /// <summary>
    /// Shutdown came before these taken messages' turn: they go back to <c>queued</c>, untouched, so no one takes them for
    /// interrupted dialogues. One that cannot be put back stays <c>sending</c> here, and is taken over as interrupted.
    /// </summary>
    private async Task ReleaseAsync(IEnumerable<StoredMessage> untouched)
    {
        foreach (var message in untouched.ToList())
        {
            try
            {
                await store.TryUpdateAsync(message with { Status = MessageStatus.Queued, Worker = null }, CancellationToken.None);
            }
            catch (Exception ex) when (StorageOutage.Is(ex))
            {
                logger.LogWarning("Message {MessageId} could not be put back in the queue ({Error})", message.Id, ex.Message);
            }
            finally
            {
                inFlight.Exit(message.Id);
            }
        }
    }
}
