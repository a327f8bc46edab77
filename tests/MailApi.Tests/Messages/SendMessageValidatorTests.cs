using MailApi.Http;
using MailApi.Messages;
using Microsoft.Extensions.Options;

namespace MailApi.Tests.Messages;

public sealed class SendMessageValidatorTests
{
    private static readonly SendMessageValidator Validator = CreateValidator();

    private static SendMessageValidator CreateValidator()
    {
        return new SendMessageValidator(Options.Create(new LimitsOptions { MaxRecipients = 3, MaxAttachmentBytes = 30 }), TimeProvider.System);
    }

    private static SendMessageRequest Valid() => new()
    {
        From = "Zotrim <zotrim@domain.local>",
        To = ["student@domain.local"],
        Subject = "Test message",
        Text = "Hello",
    };

    private static IReadOnlyCollection<string> ErrorKeys(SendMessageRequest request) =>
        Validator.Validate(request).ByJsonPath().Keys;

    public static TheoryData<string, SendMessageRequest> ValidMessages => new()
    {
        { "minimal", Valid() },
        { "bare from", Valid() with { From = "zotrim@domain.local" } },
        { "html only", Valid() with { Text = null, Html = "<p>Hi</p>" } },
        { "empty text", Valid() with { Text = "" } },
        { "bcc only", Valid() with { To = null, Bcc = ["hidden@domain.local"] } },
        { "three recipients", Valid() with { Cc = ["a@domain.local"], Bcc = ["b@domain.local"] } },
        { "text with mixed line ends", Valid() with { Text = "a\rb\nc\r\nd" } },
        { "998-char subject", Valid() with { Subject = new string('s', 998) } },
        { "custom header", Valid() with { Headers = new() { ["X-Campaign"] = "welcome", ["List-Unsubscribe"] = "<mailto:u@domain.local>" } } },
        { "attachment", Valid() with { Attachments = [new() { Filename = "a.txt", ContentType = "text/plain", Content = "aGVsbG8=" }] } },
        { "inline attachment", Valid() with { Attachments = [new() { Filename = "logo.png", Content = "aGVsbG8=", ContentId = "logo@domain.local" }] } },
        { "ten tags", Valid() with { Tags = Enumerable.Range(0, 10).Select(i => (string?)$"tag_{i}-x").ToList() } },
        { "twenty metadata pairs", Valid() with { Metadata = Enumerable.Range(0, 20).ToDictionary(i => $"k{i}", i => (string?)"v") } },
        { "reply-to", Valid() with { ReplyTo = ["Help <help@domain.local>"] } },
        { "quoted display name", Valid() with { From = "\"Uka, Zotrim\" <zotrim@domain.local>" } },
    };

    [Theory]
    [MemberData(nameof(ValidMessages))]
    public void Accepts(string because, SendMessageRequest request) =>
        Assert.True(Validator.Validate(request).IsValid, because);

    public static TheoryData<string, SendMessageRequest> InvalidMessages => new()
    {
        { "from", Valid() with { From = null } },
        { "from", Valid() with { From = "no-at-sign" } },
        { "from", Valid() with { From = "Name <local@>" } },
        { "from", Valid() with { From = "a@domain.local\r\nBcc: x@y.z" } },
        { "from", Valid() with { From = "a@domain.local, b@domain.local" } },
        { "to[0]", Valid() with { To = ["@domain.local"] } },
        { "to[0]", Valid() with { To = [null] } },
        { "cc[1]", Valid() with { Cc = ["a@domain.local", "broken"] } },
        { "bcc[0]", Valid() with { Bcc = ["x\n@domain.local"] } },
        { "replyTo[0]", Valid() with { ReplyTo = ["nobody"] } },
        { "to", Valid() with { To = [] } },
        { "to", Valid() with { To = ["a@domain.local", "b@domain.local"], Cc = ["c@domain.local"], Bcc = ["d@domain.local"] } },
        { "subject", Valid() with { Subject = null } },
        { "subject", Valid() with { Subject = new string('s', 999) } },
        { "subject", Valid() with { Subject = "a\nb" } },
        { "subject", Valid() with { Subject = "a\rb" } },
        { "text", Valid() with { Text = null, Html = null } },
        { "headers.Bcc", Valid() with { Headers = new() { ["Bcc"] = "x@y.z" } } },
        { "headers.content-type", Valid() with { Headers = new() { ["content-type"] = "text/html" } } },
        { "headers.Message-ID", Valid() with { Headers = new() { ["Message-ID"] = "<x@y>" } } },
        { "headers.X:Colon", Valid() with { Headers = new() { ["X:Colon"] = "v" } } },
        { "headers.X-Value", Valid() with { Headers = new() { ["X-Value"] = "a\r\nBcc: x@y.z" } } },
        { "headers.X-Null", Valid() with { Headers = new() { ["X-Null"] = null } } },
        { "attachments[0]", Valid() with { Attachments = [null] } },
        { "attachments[0].filename", Valid() with { Attachments = [new() { Filename = null, Content = "aGVsbG8=" }] } },
        { "attachments[0].filename", Valid() with { Attachments = [new() { Filename = "a\r\nb.txt", Content = "aGVsbG8=" }] } },
        { "attachments[0].contentType", Valid() with { Attachments = [new() { Filename = "a", ContentType = "text/plain\r\nX: y", Content = "aGVsbG8=" }] } },
        { "attachments[0].contentType", Valid() with { Attachments = [new() { Filename = "a", ContentType = "not a type", Content = "aGVsbG8=" }] } },
        { "attachments[0].content", Valid() with { Attachments = [new() { Filename = "a", Content = null }] } },
        { "attachments[0].content", Valid() with { Attachments = [new() { Filename = "a", Content = "not base64!" }] } },
        { "attachments[0].contentId", Valid() with { Attachments = [new() { Filename = "a", Content = "aGVsbG8=", ContentId = "<bad id>" }] } },
        { "attachments", Valid() with { Attachments = [new() { Filename = "a", Content = Convert.ToBase64String(new byte[60]) }] } },
        { "tags", Valid() with { Tags = Enumerable.Range(0, 11).Select(i => (string?)$"t{i}").ToList() } },
        { "tags[0]", Valid() with { Tags = ["has space"] } },
        { "tags[0]", Valid() with { Tags = [new string('t', 65)] } },
        { "metadata", Valid() with { Metadata = Enumerable.Range(0, 21).ToDictionary(i => $"k{i}", i => (string?)"v") } },
        { "metadata.k", Valid() with { Metadata = new() { ["k"] = null } } },
    };

    [Theory]
    [MemberData(nameof(InvalidMessages))]
    public void Rejects_with_the_field_path(string key, SendMessageRequest request) =>
        Assert.Contains(key, ErrorKeys(request));
}

public sealed class ValidationErrorsTests
{
    [Theory]
    [InlineData("From", "from")]
    [InlineData("To[1]", "to[1]")]
    [InlineData("Attachments[0].ContentId", "attachments[0].contentId")]
    [InlineData("Messages[3].Attachments[0].Content", "messages[3].attachments[0].content")]
    [InlineData("headers.X-Campaign", "headers.X-Campaign")]
    [InlineData("Messages[2].headers.Subject", "messages[2].headers.Subject")]
    [InlineData("metadata.OrderId", "metadata.OrderId")]
    public void Member_names_become_json_paths_and_keys_keep_their_spelling(string propertyName, string jsonPath) =>
        Assert.Equal(jsonPath, ValidationErrors.JsonPath(propertyName));
}
