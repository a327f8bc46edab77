using MailApi.Delivery.Rules;

namespace MailApi.Tests.Delivery.Rules;

// Where the reply strings come from (each is the text after the reply code, as MailKit's SendAsync returns it):
// - Postfix: src/smtpd/smtpd.c `smtpd_chat_reply(state, "250 Ok: queued as %s", state->queue_id)` (Postfix sources,
//   e.g. NetBSD/src external/ibm-public/postfix/dist/src/smtpd/smtpd.c); the "2.0.0" is added by Postfix's DSN code, as
//   seen on this machine against Postfix 3.7 (NOTES.md: "2.0.0 Ok: queued as Q28BCF1E1DD"). Long ids are
//   `enable_long_queue_ids` (postconf(5)). Servers built on emersion/go-smtp answer "2.0.0 OK: queued as %s"
//   (several public Go relays found by code search).
// - Exim: "250 OK id=1Mugho-0003Dg-Un", "250 OK id=1l3vRq-0000HP-OZ" (Exim session transcripts and logs quoted in public
//   repositories), and the 4.97+ id form "1xBuT1-000000003QH-0Qqz" (a public Exim log parser's test notes).
// - Sendmail: sendmail/srvrsmtp.c `message("250 2.0.0 %s Message accepted for delivery", id)` (freebsd-src, sendmail);
//   "250 2.0.0 n54CEgvI018278 Message accepted for delivery" quoted in a PHP SMTP client's comments.
// - OpenSMTPD: usr.sbin/smtpd/smtp_session.c `smtp_reply(s, "250 %s %08x Message accepted for delivery", esc_code(...), msgid)`
//   and older `"250 %s: %08x Message accepted for delivery"` (openbsd/src).
// - Microsoft 365: "250 2.6.0 <JIRA.938152.1690810170000.3399613.1691573583862@Atlassian.JIRA> [InternalId=105849469029151,
//   Hostname=AS8PR07MB7669.eurprd07.prod.outlook.com] 29353 bytes in 0.060, 472.320 KB/sec Queued mail for delivery"
//   (a Postfix log line in a public mail-log parser) and the SES → Outlook response in an SES notification fixture.
//   Exchange 2010: "<…@…> [InternalId=274498] Queued mail for delivery" (a forum post quoting a Postfix log).
//   Outlook.com (Hotmail) without an InternalId: "<SNT0-MC3-F1964xSNUX00142e45@SNT0-MC3-F19.Snt0.hotmail.com>
//   Queued mail for delivery" (an SMTP status tool's README).
// - Gmail: "250 2.0.0 OK  1653776100 r33-20020a056870582100b000f169cbbb32sm1847208oap.43 - gsmtp" (nodemailer result
//   quoted in a public repo), "OK  1644855633 l11si9233120wms.107 - gsmtp" (a Postfix relay tutorial's log line).
// - Amazon SES: "250 Ok 010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000" (an SES SMTP how-to),
//   "250 Ok 01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000" (a relay-host document's Postfix log line).
// - qmail: qmail-smtpd answers "250 ok <time> qp <pid>": "250 ok 1375388751 qp 26627" (a telnet walkthrough),
//   "250 ok 1476446307 qp 25307 server-6.tower-123.messagelabs.com!1476446305!416754!1" (Symantec MessageLabs).
// - Haraka: "250 Message Queued (9E4BCB7C-6006-451E-BA1D-7F80FCABBE72.1)" (haraka/Haraka pull request #1092).
// - No id: Mailgun "250 Great success" (nodemailer results against smtp.mailgun.org), Python smtpd "OK" and
//   Postfix smtp-sink "2.0.0 Ok" (NOTES.md), "Message accepted for delivery" / "OK: Message accepted for delivery" /
//   "2.5.0 Message accepted for delivery" (small test servers in public repos), Gmail test double "2.0.0 OK 1726 - gsmtp".
public class QueueIdParserTests
{
    [Theory]
    [InlineData("2.0.0 Ok: queued as 092D0CD01", "092D0CD01")]
    [InlineData("Ok: queued as 092D0CD01", "092D0CD01")]
    [InlineData("2.0.0 Ok: queued as Q28BCF1E1DD", "Q28BCF1E1DD")]
    [InlineData("2.0.0 Ok: queued as 4Y3Xq45ZKxz9sWN", "4Y3Xq45ZKxz9sWN")]
    [InlineData("Ok: queued as 7523C1BEFA", "7523C1BEFA")]
    [InlineData("2.0.0 OK: queued as 01HQ3K5V7X8Y9Z", "01HQ3K5V7X8Y9Z")]
    [InlineData("Ok: queued as abc", "abc")]
    public void Postfix_and_look_alikes(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("OK id=1Mugho-0003Dg-Un", "1Mugho-0003Dg-Un")]
    [InlineData("OK id=1l3vRq-0000HP-OZ", "1l3vRq-0000HP-OZ")]
    [InlineData("OK id=1rAbCd-000Abc-Xy", "1rAbCd-000Abc-Xy")]
    [InlineData("OK id=1xBuT1-000000003QH-0Qqz", "1xBuT1-000000003QH-0Qqz")]
    public void Exim(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("2.0.0 x3LJOQ1X012345 Message accepted for delivery", "x3LJOQ1X012345")]
    [InlineData("2.0.0 n54CEgvI018278 Message accepted for delivery", "n54CEgvI018278")]
    [InlineData("u4Q8JNqB012345 Message accepted for delivery", "u4Q8JNqB012345")]
    public void Sendmail(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("2.0.0 1a2b3c4d Message accepted for delivery", "1a2b3c4d")]
    [InlineData("2.0.0: 5f3c1d2e Message accepted for delivery", "5f3c1d2e")]
    // About 1 id in 2,560 has no digit (8 random hex characters).
    [InlineData("2.0.0 abcdefab Message accepted for delivery", "abcdefab")]
    [InlineData("2.0.0: deadbeef Message accepted for delivery", "deadbeef")]
    public void OpenSmtpd(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("2.6.0 <JIRA.938152.1690810170000.3399613.1691573583862@Atlassian.JIRA> [InternalId=105849469029151, Hostname=AS8PR07MB7669.eurprd07.prod.outlook.com] 29353 bytes in 0.060, 472.320 KB/sec Queued mail for delivery", "105849469029151")]
    [InlineData("2.6.0 <0100017b0e35a8c6-2021949e-71e7-4802-aa95-ae62b696b836-000000@email.amazonses.com> [InternalId=95992519094146, Hostname=HE1EUR04HT112.eop-eur04.prod.protection.outlook.com] 13478 bytes in 0.277, 47.373 KB/sec Queued mail for delivery", "95992519094146")]
    [InlineData("2.6.0 <message-id@host> [InternalId=123, Hostname=EX01.contoso.com] Queued mail for delivery", "123")]
    [InlineData("2.6.0 <20111025103822.7F94E1C0299@[ASTNAGIOS]> [InternalId=274498] Queued mail for delivery", "274498")]
    [InlineData("<SNT0-MC3-F1964xSNUX00142e45@SNT0-MC3-F19.Snt0.hotmail.com> Queued mail for delivery", "SNT0-MC3-F1964xSNUX00142e45@SNT0-MC3-F19.Snt0.hotmail.com")]
    [InlineData("2.6.0 <WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com> Queued mail for delivery", "WEB01JswFCHOzyfyz5b000015ac@smtprelay.eqonline.com")]
    public void Exchange_and_Microsoft_365(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("2.0.0 OK  1653776100 r33-20020a056870582100b000f169cbbb32sm1847208oap.43 - gsmtp", "r33-20020a056870582100b000f169cbbb32sm1847208oap.43")]
    [InlineData("2.0.0 OK  1644855633 l11si9233120wms.107 - gsmtp", "l11si9233120wms.107")]
    [InlineData("2.0.0 OK  1700000000 a1b2c3d4e5f6a-7b8c9d0e1f2si123456ejc.123 - gsmtp", "a1b2c3d4e5f6a-7b8c9d0e1f2si123456ejc.123")]
    [InlineData("2.0.0 OK 1376056636 i3si9508927obz.16 - gsmtp", "i3si9508927obz.16")]
    public void Gmail(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("Ok 010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000", "010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000")]
    [InlineData("Ok 01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000", "01000154dc729264-93fdd7ea-f039-43d6-91ed-653e8547867c-000000")]
    [InlineData("Ok 0101017c6c7d1c0f-1c8e57ef-ebe0-4bbf-90dd-937e2ee5726e-000000", "0101017c6c7d1c0f-1c8e57ef-ebe0-4bbf-90dd-937e2ee5726e-000000")]
    public void Amazon_SES(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("ok 1375388751 qp 26627", "26627")]
    [InlineData("ok 1234567890 qp 12345", "12345")]
    [InlineData("ok 1476446307 qp 25307 server-6.tower-123.messagelabs.com!1476446305!416754!1", "25307")]
    public void Qmail(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData("Message Queued (9E4BCB7C-6006-451E-BA1D-7F80FCABBE72.1)", "9E4BCB7C-6006-451E-BA1D-7F80FCABBE72.1")]
    [InlineData("Queued! (4E0708B0-5F64-495E-A216-8C5807AA605E.1)", "4E0708B0-5F64-495E-A216-8C5807AA605E.1")]
    public void Haraka(string text, string expected) => Assert.Equal(expected, QueueIdParser.Parse(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("OK")]
    [InlineData("Ok")]
    [InlineData("2.0.0 Ok")]
    [InlineData("2.0.0 OK")]
    [InlineData("Great success")]
    [InlineData("Message accepted for delivery")]
    [InlineData("OK: Message accepted for delivery")]
    [InlineData("2.5.0 Message accepted for delivery")]
    [InlineData("2.0.0 facade Message accepted for delivery")]
    [InlineData("Accepted: Message accepted for delivery")]
    [InlineData("Ok: queued")]
    [InlineData("2.0.0 OK 1726 - gsmtp")]
    [InlineData("Queued (0.000 seconds)")]
    [InlineData("Ok: Messages accepted")]
    [InlineData("2.6.0 Queued mail for delivery")]
    [InlineData("Ok 0100018abc-1234-5678-000000")]
    [InlineData("Requested mail action okay, completed")]
    public void Unknown_or_id_less_replies_give_null(string? text) => Assert.Null(QueueIdParser.Parse(text));

    [Fact]
    public void Multi_line_reply_is_searched_line_by_line()
    {
        Assert.Equal("092D0CD01", QueueIdParser.Parse("Thanks\nOk: queued as 092D0CD01"));
    }
}
