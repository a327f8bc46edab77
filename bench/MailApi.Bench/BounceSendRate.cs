using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace MailApi.Bench;

/// <summary>One end-to-end delivery run of <see cref="BounceSendRate"/>: bounces on or off, in one round.</summary>
internal sealed record BounceSendRun(string Mode, bool BouncesOn, int Round, DeliveryFigures Delivery);

/// <summary>What the relay was sent by the service with bounces on or off: a message's MAIL FROM and RCPT TO, as its transcript has them.</summary>
internal sealed record BounceSendDialogue(string Mode, bool BouncesOn, string? MailFrom, string? RcptTo);

/// <summary>
/// Part of <c>bash bench/run.sh --bounces</c>: the send rate with bounces on against off (issue 25's "Measure"), in one
/// storage mode. Two services at once on the same smtp-sink, one with <c>Bounces:Enabled</c>, a token return path and its
/// secret (so each MAIL FROM carries ENVID and RET, each RCPT TO NOTIFY and ORCPT, where the relay offers DSN, and the
/// token is an HMAC per message), the other without; both warmed up, then the end-to-end delivery run (single POSTs from
/// 32 clients, first 202 to last 250) in rounds of off then on, then on then off: a drift of the machine's load weighs on
/// both alike.
/// </summary>
internal static class BounceSendRate
{
    private const int Rounds = 4;

    /// <summary>Bounces on, as a deployment with a token return path sets them; no mailbox is read.</summary>
    private static readonly Dictionary<string, string> On = new()
    {
        ["Bounces__Enabled"] = "true",
        ["Bounces__ReturnPath"] = "bounces+{token}@bench.localhost",
        ["Bounces__TokenSecret"] = "bench-token-secret-of-at-least-32-bytes",
    };

    /// <summary>Whether the relay on <paramref name="port"/> lists DSN in its EHLO reply (smtp-sink does unless started with -N).</summary>
    public static async Task<bool> OffersDsnAsync(int port)
    {
        await using var wire = await MailApi.Testing.SmtpWire.ConnectAsync(port);
        await wire.ReadReplyAsync();
        var ehlo = await wire.CommandAsync("EHLO bench.localhost");
        await wire.CommandAsync("QUIT");
        return ehlo.Any(l => l.Length > 4 && l[4..].Equals("DSN", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The runs, and what the relay was sent, in <paramref name="pg"/>'s mode (in memory without one).</summary>
    public static async Task<(List<BounceSendRun> Runs, List<BounceSendDialogue> Dialogues)> RunAsync(string root, BenchOptions o, SmtpSink sink,
        BenchPostgres? pg, int messages, Action<string> log)
    {
        var mode = pg is null ? "inMemory" : "postgreSql";
        var runs = new List<BounceSendRun>();
        await using var off = await Side.StartAsync(root, o, sink, pg, bouncesOn: false);
        await using var on = await Side.StartAsync(root, o, sink, pg, bouncesOn: true);
        foreach (var side in (Side[])[off, on])
        {
            log($"send rate, {mode}, bounces {side.Name}: warm-up ({o.WarmUpSeconds} s)");
            await side.Load.WarmUpAsync(o.WarmUpSeconds, sink);
        }
        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var side in round % 2 == 1 ? [off, on] : (Side[])[on, off])
            {
                var delivery = await side.Load.DeliverAsync(messages);
                runs.Add(new BounceSendRun(mode, side.BouncesOn, round, delivery));
                log($"send rate, {mode}, bounces {side.Name}, round {round}: {messages:N0} messages, {delivery.MessagesPerSecond:F0}/s end to end"
                    + $" ({delivery.Sent:N0} sent), accept to sent p50 {delivery.AcceptToSentP50Ms:F0} ms");
            }
        }
        return (runs, [await off.DialogueAsync(mode), await on.DialogueAsync(mode)]);
    }

    /// <summary>The table's rows for one mode's runs: each side's rate in each round, their mean, and on against off.</summary>
    public static void Render(StringBuilder sb, List<BounceSendRun> runs, List<BounceSendDialogue> dialogues, bool sinkOffersDsn)
    {
        sb.AppendLine($"| mode | bounces | {string.Join(" | ", Enumerable.Range(1, Rounds).Select(r => $"round {r}, msg/s"))} | mean msg/s | on against off |");
        sb.AppendLine($"|---|---|{string.Concat(Enumerable.Repeat("---|", Rounds))}---|---|");
        foreach (var mode in runs.Select(r => r.Mode).Distinct())
        {
            double Mean(bool on) => runs.Where(r => r.Mode == mode && r.BouncesOn == on).Average(r => r.Delivery.MessagesPerSecond);
            foreach (var on in (bool[])[false, true])
            {
                var rates = runs.Where(r => r.Mode == mode && r.BouncesOn == on).OrderBy(r => r.Round).Select(r => $"{r.Delivery.MessagesPerSecond:N0}");
                sb.AppendLine($"| {(mode == "inMemory" ? "in memory" : "PostgreSQL")} | {(on ? "on" : "off")} | {string.Join(" | ", rates)} | {Mean(on):N0} | "
                    + (on ? $"{(Mean(true) / Mean(false) - 1) * 100:+0.0;-0.0} %" : "") + " |");
            }
        }
        sb.AppendLine();
        var counts = runs.GroupBy(r => r.Mode).Select(g => $"{(g.Key == "inMemory" ? "in memory" : "PostgreSQL")} {g.First().Delivery.Messages:N0}");
        sb.AppendLine($"Each run: single POSTs from 32 clients ({string.Join(", ", counts)}), rate = sent ÷ (last sentAt − first createdAt).");
        sb.AppendLine($"smtp-sink lists DSN in its EHLO reply: {(sinkOffersDsn ? "yes" : "no")}. What it was sent:");
        foreach (var d in dialogues)
        {
            sb.AppendLine($"- {(d.Mode == "inMemory" ? "in memory" : "PostgreSQL")}, bounces {(d.BouncesOn ? "on" : "off")}: `{d.MailFrom}`, `{d.RcptTo}`");
        }
    }

    /// <summary>One of the two services, its load and, on PostgreSQL, its database.</summary>
    private sealed class Side(ServiceProcess service, DatabaseStats? stats, bool bouncesOn) : IAsyncDisposable
    {
        public ServiceLoad Load { get; } = new(service, stats is null ? null : new DatabaseFinalStatus(stats));

        public bool BouncesOn => bouncesOn;

        public string Name => bouncesOn ? "on" : "off";

        public static async Task<Side> StartAsync(string root, BenchOptions o, SmtpSink sink, BenchPostgres? pg, bool bouncesOn)
        {
            var connection = pg is null ? null : await pg.CreateDatabaseAsync("mailapi");
            var service = await ServiceProcess.StartAsync(root, sink.Port, o.Concurrency, pool: true, postgres: connection, settings: bouncesOn ? On : null);
            return new Side(service, connection is null ? null : new DatabaseStats(connection), bouncesOn);
        }

        /// <summary>The MAIL FROM and RCPT TO of the last run's first message, as its transcript recorded them.</summary>
        public async Task<BounceSendDialogue> DialogueAsync(string mode)
        {
            using var http = new HttpClient { BaseAddress = service.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", ServiceProcess.ApiKey } } };
            var message = (await http.GetFromJsonAsync<JsonObject>($"/v1/messages/{Load.LastIds[0]}"))!;
            var transcript = message["attempts"]!.AsArray().SelectMany(a => a!["transcript"]!.AsArray()).ToList();
            string? Command(string verb) => transcript.Select(e => (string?)e!["command"]).FirstOrDefault(c => c?.StartsWith(verb, StringComparison.Ordinal) == true);
            return new BounceSendDialogue(mode, bouncesOn, Command("MAIL FROM:"), Command("RCPT TO:"));
        }

        public async ValueTask DisposeAsync()
        {
            Load.Dispose();
            if (stats is not null)
            {
                await stats.DisposeAsync();
            }
            await service.DisposeAsync();
        }
    }
}
