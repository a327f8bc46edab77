namespace MailApi.Delivery;

/// <summary>This process among the instances sharing a store: host, process id and a random suffix (process ids repeat).</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
