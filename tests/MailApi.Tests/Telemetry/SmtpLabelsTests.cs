using MailApi.Telemetry;

namespace MailApi.Tests.Telemetry;

/// <summary>Metric labels and span tags name the verb of a transcript command, never its arguments.</summary>
public sealed class SmtpLabelsTests
{
    [Theory]
    [InlineData(null, "GREETING")]
    [InlineData(".", "DATA_END")]
    [InlineData("EHLO mailapi.test", "EHLO")]
    [InlineData("ehlo mailapi.test", "EHLO")]
    [InlineData("MAIL FROM:<zotrim@domain.local> SIZE=312", "MAIL")]
    [InlineData("RCPT TO:<student@domain.local>", "RCPT")]
    [InlineData("AUTH LOGIN ***", "AUTH")]
    [InlineData("DATA", "DATA")]
    [InlineData("STARTTLS", "STARTTLS")]
    [InlineData("QUIT", "QUIT")]
    [InlineData("XCLIENT ADDR=192.0.2.1", "OTHER")]
    [InlineData("student@domain.local", "OTHER")]
    [InlineData("", "OTHER")]
    public void Command_is_the_verb_from_a_closed_set(string? command, string label) =>
        Assert.Equal(label, SmtpLabels.Command(command));

    [Theory]
    [InlineData(220, "2xx")]
    [InlineData(354, "3xx")]
    [InlineData(451, "4xx")]
    [InlineData(550, "5xx")]
    [InlineData(0, "other")]
    [InlineData(199, "other")]
    [InlineData(600, "other")]
    public void Reply_class_is_the_first_digit(int code, string label) =>
        Assert.Equal(label, SmtpLabels.ReplyClass(code));
}
