using System.Diagnostics.Metrics;
using MailApi.Delivery;
using MailApi.Delivery.Smtp;
using MailApi.Messages;
using MailApi.Storage;
using MailApi.Suppressions;
using MailApi.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MailApi.Tests.Messages;

/// <summary>The remembered parses answer exactly as a fresh parse does, and the stored recipients keep their order.</summary>
public sealed class MailboxesTests
{
    private static readonly string?[] Values =
    [
        "Zotrim <zotrim@domain.local>", "zotrim@domain.local", "ZOTRIM@DOMAIN.LOCAL", "no-at-sign", "", " ", null,
        "a@b", "\"Quoted, Name\" <q@domain.local>", "x@domain.local\r\n", "two@domain.local, three@domain.local",
        "Bench <bench@domain.local>", "sink@domain.local", "user@[127.0.0.1]", "bad@do main", "<>",
    ];

    [Fact]
    public void Remembered_answers_equal_a_fresh_parse_in_any_order()
    {
        for (var round = 0; round < 3; round++)
        {
            foreach (var value in round == 1 ? Values.Reverse() : Values)
            {
                var fresh = Mailboxes.TryParse(value);
                // Asked twice: the second answer comes from what the first remembered.
                for (var again = 0; again < 2; again++)
                {
                    Assert.Equal(fresh is not null, Mailboxes.IsMailbox(value));
                    if (fresh is not null)
                    {
                        Assert.Equal(fresh.Address, Mailboxes.Address(value!));
                        Assert.Equal((fresh.Address, fresh.Domain), Mailboxes.AddressAndDomain(value!));
                    }
                    else if (value is not null)
                    {
                        Assert.Throws<ArgumentException>(() => Mailboxes.Address(value));
                    }
                }
            }
        }
    }

    [Fact]
    public void A_long_value_is_parsed_alike()
    {
        var name = new string('n', 2000);
        var value = $"{name} <long@domain.local>";
        Assert.Equal(Mailboxes.TryParse(value)?.Address, Mailboxes.Address(value));
        Assert.Equal("long@domain.local", Mailboxes.Address(value));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(12)]
    public async Task Recipients_are_to_cc_bcc_in_order_each_address_once(int distinct)
    {
        var addresses = Enumerable.Range(0, distinct).Select(i => $"r{i}@domain.local").ToList();
        var request = new SendMessageRequest
        {
            From = "Zotrim <zotrim@domain.local>",
            To = [$"First <{addresses[0]}>", .. addresses.Skip(1).Take(distinct / 2)],
            Cc = [addresses[0].ToUpperInvariant(), .. addresses.Skip(1 + distinct / 2)],
            Bcc = [addresses[1], addresses[^1].ToUpperInvariant(), addresses[0]],
            Subject = "s",
            Text = "t",
        };
        var store = new InMemoryMessageStore();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new MailApiMetrics(services.GetRequiredService<IMeterFactory>());
        var submitter = new MessageSubmitter(store, new BacklogGauge(store, Options.Create(new LimitsOptions()), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<BacklogGauge>.Instance), metrics, new NoQueue(),
            new SuppressionCheck(new InMemorySuppressionStore(), metrics, TimeProvider.System), Options.Create(new SmtpOptions()),
            Options.Create(new LimitsOptions()), TimeProvider.System, NullLogger<MessageSubmitter>.Instance);

        var result = await submitter.SubmitAsync([request], "alpha", null, CancellationToken.None);

        var expected = request.To.Concat(request.Cc).Concat(request.Bcc)
            .Select(m => Mailboxes.TryParse(m)!.Address).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        Assert.Equal(expected, result.Messages[0].Recipients.Select(r => r.Address));
        Assert.Equal(addresses, result.Messages[0].Recipients.Select(r => r.Address));
        Assert.All(result.Messages[0].Recipients, r => Assert.Equal(RecipientStatus.Pending, r.Status));
        Assert.Equal("zotrim@domain.local", result.Messages[0].Sender);
        Assert.EndsWith("@domain.local>", result.Messages[0].MessageId);
    }

    private sealed class NoQueue : IDeliveryQueue
    {
        public void Schedule(Guid messageId, DateTimeOffset at)
        {
        }

        public Task EnqueueAsync(IReadOnlyList<Guid> messageIds) => Task.CompletedTask;

        public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => Task.CompletedTask;
    }
}
