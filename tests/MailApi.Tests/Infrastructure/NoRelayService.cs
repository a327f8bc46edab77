namespace MailApi.Tests.Infrastructure;

/// <summary>One service for a test class that sends nothing: the relay is a closed port.</summary>
public sealed class NoRelayService : IDisposable
{
    public MailApiFactory Factory { get; } = new(FreePort.Get());

    public void Dispose() => Factory.Dispose();
}
