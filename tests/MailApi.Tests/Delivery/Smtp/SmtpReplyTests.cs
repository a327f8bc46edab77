using MailApi.Delivery.Smtp;

namespace MailApi.Tests.Delivery.Smtp;

public class SmtpReplyTests
{
    [Fact]
    public void Single_line_with_enhanced_code()
    {
        var reply = SmtpReply.Parse(["250 2.0.0 Ok: queued as 092D0CD01"]);

        Assert.Equal(new SmtpReply(250, "2.0.0", "Ok: queued as 092D0CD01"), reply);
        Assert.True(reply.IsPositive);
        Assert.False(reply.IsTransient);
        Assert.False(reply.IsPermanent);
    }

    [Fact]
    public void Multi_line_without_enhanced_code_joins_with_newline()
    {
        var reply = SmtpReply.Parse(["250-profbox.domain.local", "250-PIPELINING", "250-STARTTLS", "250 AUTH PLAIN LOGIN"]);

        Assert.Equal(new SmtpReply(250, null, "profbox.domain.local\nPIPELINING\nSTARTTLS\nAUTH PLAIN LOGIN"), reply);
    }

    [Fact]
    public void Enhanced_code_is_stripped_from_every_line_that_repeats_it()
    {
        var reply = SmtpReply.Parse(["550-5.7.1 first", "550-5.7.1 second", "550 5.7.1 third"]);

        Assert.Equal(new SmtpReply(550, "5.7.1", "first\nsecond\nthird"), reply);
        Assert.True(reply.IsPermanent);
    }

    [Fact]
    public void Gmail_style_multi_line_keeps_lines_without_the_code()
    {
        var reply = SmtpReply.Parse([
            "421-4.7.0 Try again later, closing connection.",
            "421-4.7.0 See https://support.google.com/mail/answer/81126",
            "421 4.7.0 x1si123.45 - gsmtp"]);

        Assert.Equal(421, reply.Code);
        Assert.Equal("4.7.0", reply.EnhancedCode);
        Assert.Equal("Try again later, closing connection.\nSee https://support.google.com/mail/answer/81126\nx1si123.45 - gsmtp", reply.Text);
        Assert.True(reply.IsTransient);
    }

    [Fact]
    public void Bare_code_line_has_empty_text()
    {
        Assert.Equal(new SmtpReply(250, null, ""), SmtpReply.Parse(["250"]));
        Assert.Equal(new SmtpReply(250, null, ""), SmtpReply.Parse(["250 "]));
    }

    [Fact]
    public void Code_alone_is_an_enhanced_code_only_text()
    {
        Assert.Equal(new SmtpReply(250, "2.1.5", ""), SmtpReply.Parse(["250 2.1.5"]));
    }

    [Theory]
    [InlineData("250 5.0.0 odd class", null, "5.0.0 odd class")]    // class differs from the reply's first digit
    [InlineData("250 2.0 Ok", null, "2.0 Ok")]                     // two parts only
    [InlineData("250 2.0.0000 Ok", null, "2.0.0000 Ok")]           // detail of four digits
    [InlineData("250 2.0.0Ok", null, "2.0.0Ok")]                   // no space after it
    [InlineData("354 End data with <CR><LF>.<CR><LF>", null, "End data with <CR><LF>.<CR><LF>")]
    [InlineData("250 2.123.456 Ok", "2.123.456", "Ok")]
    public void Enhanced_code_follows_RFC_3463(string line, string? enhanced, string text)
    {
        var reply = SmtpReply.Parse([line]);

        Assert.Equal(enhanced, reply.EnhancedCode);
        Assert.Equal(text, reply.Text);
    }

    [Fact]
    public void Later_line_with_a_different_code_keeps_it()
    {
        var reply = SmtpReply.Parse(["250-2.0.0 one", "250 2.1.0 two"]);

        Assert.Equal("one\n2.1.0 two", reply.Text);
    }

    [Theory]
    [InlineData(220, true, false, false)]
    [InlineData(334, true, false, false)]
    [InlineData(354, true, false, false)]
    [InlineData(421, false, true, false)]
    [InlineData(451, false, true, false)]
    [InlineData(554, false, false, true)]
    public void Classes(int code, bool positive, bool transient, bool permanent)
    {
        var reply = new SmtpReply(code, null, "");

        Assert.Equal(positive, reply.IsPositive);
        Assert.Equal(transient, reply.IsTransient);
        Assert.Equal(permanent, reply.IsPermanent);
    }

    [Fact]
    public void Garbage_line_has_code_zero_and_keeps_its_text()
    {
        Assert.Equal(new SmtpReply(0, null, "hello"), SmtpReply.Parse(["hello"]));
    }

    [Fact]
    public void No_lines_is_an_error()
    {
        Assert.Throws<ArgumentException>(() => SmtpReply.Parse([]));
    }

    [Fact]
    public void Json_has_code_enhanced_code_and_text_only()
    {
        var json = System.Text.Json.JsonSerializer.SerializeToNode(new SmtpReply(250, "2.0.0", "Ok"), MailApi.Tests.Infrastructure.MailApiFactory.Json)!.AsObject();

        Assert.Equal(["code", "enhancedCode", "text"], json.Select(p => p.Key));
    }
}
