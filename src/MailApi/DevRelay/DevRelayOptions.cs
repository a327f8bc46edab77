namespace MailApi.DevRelay;

/// <summary>
/// Settings of the embedded capture relay (configuration section <c>DevRelay</c>).
/// The relay only ever listens on 127.0.0.1.
/// </summary>
public sealed class DevRelayOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "DevRelay";

    /// <summary>The only address the relay listens on.</summary>
    public const string Host = "127.0.0.1";

    /// <summary>Whether the relay runs at all (<c>DevRelay__Enabled</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>The TCP port on 127.0.0.1 (<c>DevRelay__Port</c>); 0 takes any free port.</summary>
    public int Port { get; set; } = 2525;

    /// <summary>
    /// Where captured messages are written as <c>QUEUEID.eml</c>. A relative path is resolved against the
    /// content root by <see cref="DevRelayExtensions.AddDevRelay"/> (against the current directory otherwise).
    /// </summary>
    public string Folder { get; set; } = "captured-mail";

    /// <summary>The name the relay gives in its greeting and EHLO reply.</summary>
    public string ServerName { get; set; } = "localhost";
}
