using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using FluentValidation;
using MailApi.Http;
using MailApi.Messages;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailApi.IngestMicro;

// The cost of one POST /v1/messages, in process, without sockets and without deliveries:
//   dotnet run -c Release --project bench/MailApi.IngestMicro -- [--requests N] [--concurrency C] [--rounds R] > /dev/null
// The service runs as in bench/run.sh (Production, in-memory storage, Information logging to the console: send stdout
// to /dev/null) except that Hangfire's server is not started, so jobs are enqueued into Hangfire.InMemory and never run.
// Reported on stderr, per request: CPU time of the whole process (client included) and bytes allocated by all threads;
// the "validate" line is the validator alone on one thread. Wall-clock figures are printed but mean little on a shared machine.
internal static class IngestMicroBench
{
    public static async Task<int> Main(string[] args)
    {
        var requests = Arg(args, "--requests", 20_000);
        var concurrency = Arg(args, "--concurrency", 16);
        var rounds = Arg(args, "--rounds", 5);

        const string Key = "bench-secret-key";
        var text = string.Join("\r\n", Enumerable.Range(0, 2000 / 80).Select(i => $"{i:D3} " + new string('x', 74)));
        var body = System.Text.Json.JsonSerializer.Serialize(new
        {
            from = "Bench <bench@domain.local>",
            to = new[] { "sink@domain.local" },
            subject = "Benchmark message",
            text,
        });

        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            builder.UseSolutionRelativeContentRoot("src/MailApi");
            builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Hangfire"] = "Warning",
                ["Storage:Provider"] = "InMemory",
                ["Smtp:Host"] = "127.0.0.1",
                ["Smtp:Port"] = "9",
                ["Limits:MaxPendingMessages"] = "100000000",
                ["Auth:ApiKeys:0:Name"] = "bench",
                ["Auth:ApiKeys:0:Key"] = Key,
                ["Auth:ApiKeys:0:AllowedSenders:0"] = "@domain.local",
            }));
            builder.ConfigureTestServices(services =>
            {
                // Enqueue into Hangfire, but run no job: only ingestion is measured.
                foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService)
                             && IsHangfire(d.ImplementationType ?? d.ImplementationFactory?.Method.DeclaringType)).ToList())
                {
                    services.Remove(hosted);
                }
            });
        });
        var client = factory.CreateClient();
        if (factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().Servers().Count > 0)
        {
            throw new InvalidOperationException("A Hangfire server runs: the bench would measure deliveries too.");
        }
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        var validator = factory.Services.GetRequiredService<IValidator<SendMessageRequest>>();
        var request = System.Text.Json.JsonSerializer.Deserialize<SendMessageRequest>(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        if (!validator.Validate(request).IsValid)
        {
            throw new InvalidOperationException("The bench body does not validate.");
        }

        for (var round = 0; round <= rounds; round++)
        {
            var label = round == 0 ? "warm-up" : $"round {round}";
            Measure($"{label} validate", requests, () =>
            {
                for (var i = 0; i < requests; i++)
                {
                    validator.Validate(request);
                }
                return Task.CompletedTask;
            }).Wait();
            var submitter = factory.Services.GetRequiredService<MessageSubmitter>();
            await Measure($"{label} validateAsync", requests, async () =>
            {
                // What ValidationFilter calls.
                for (var i = 0; i < requests; i++)
                {
                    await validator.ValidateAsync(request);
                }
            });
            await Measure($"{label} submit", requests, async () =>
            {
                for (var i = 0; i < requests; i++)
                {
                    await submitter.SubmitAsync([request], "bench", null, CancellationToken.None);
                }
            });
            var queue = factory.Services.GetRequiredService<MailApi.Delivery.IDeliveryQueue>();
            await Measure($"{label} enqueue", requests, async () =>
            {
                for (var i = 0; i < requests; i++)
                {
                    await queue.EnqueueAsync([Guid.CreateVersion7()]);
                }
            });
            await Measure($"{label} POST", requests, async () =>
            {
                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
                {
                    while (Interlocked.Increment(ref next) < requests)
                    {
                        using var content = new StringContent(body, Encoding.UTF8, "application/json");
                        using var response = await client.PostAsync("/v1/messages", content);
                        if ((int)response.StatusCode != 202)
                        {
                            throw new InvalidOperationException($"POST answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                        }
                    }
                })));
            });
        }
        return 0;
    }

    private static async Task Measure(string label, int count, Func<Task> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var gc0 = GC.CollectionCount(0);
        var wall = Stopwatch.StartNew();
        await run();
        wall.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpu0;
        var alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        Console.Error.WriteLine(FormattableString.Invariant(
            $"{label,-20} {cpu.TotalMicroseconds / count,8:F1} µs CPU/op {alloc / (double)count,9:F0} B/op   ({count / wall.Elapsed.TotalSeconds,8:F0} op/s wall, gen0 {GC.CollectionCount(0) - gc0})"));
    }

    private static bool IsHangfire(Type? type) => type?.Assembly.GetName().Name?.StartsWith("Hangfire", StringComparison.Ordinal) ?? false;

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
