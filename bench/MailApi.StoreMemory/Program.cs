using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MailApi.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.StoreMemory;

// What the in-memory store keeps per finished message, and what finishing and reading one costs:
//   dotnet run -c Release --project bench/MailApi.StoreMemory -- [--messages N] [--max M]
// First the real service (in process, Development, its capture relay on 127.0.0.1) sends the bench's message (~2 KB of
// text to one recipient, as bench/run.sh sends) and the finished message is read from its store: a real transcript, with
// the connection's greeting and EHLO, and its event. Then N copies go through a fresh InMemoryMessageStore's own API as
// the service does it (added queued, taken, stored sent), each deserialised anew so no two share a string, and the
// managed heap is measured with GC.GetTotalMemory(true) before and after: bytes per finished message held. With --max M the
// store is bounded at M (Storage:InMemory:MaxMessages), to show it holds M however many go through it. CPU times are the
// process's (a shared machine's wall clock says little); the copies' JSON reading is in them, the same in every store.
internal static class StoreMemoryBench
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    public static async Task<int> Main(string[] args)
    {
        var count = Arg(args, "--messages", 100_000);
        var max = Arg(args, "--max", 0);
        var template = JsonSerializer.Serialize(await FinishedByTheServiceAsync(), Json);
        Console.WriteLine($"template: a sent message, {template.Length:N0} characters of JSON");

        // Tiered compilation promotes hot methods after a while: a first pass into a throwaway store, so the
        // measured one runs the code a long-running service runs.
        await FillAsync(new InMemoryMessageStore(), template, Math.Min(count, 20_000));

        var store = max > 0 ? new InMemoryMessageStore(max) : new InMemoryMessageStore();
        var before = Heap();
        var (ids, cpu) = await FillAsync(store, template, count);
        var after = Heap();
        var held = (await store.ListAsync(new MessageQuery { Owner = "dev", Limit = int.MaxValue - 1 }, CancellationToken.None)).Items.Count;
        Console.WriteLine($"held: {held:N0} sent messages of {count:N0} stored, {(after - before) / (double)held:N0} bytes each on the managed heap " +
                          $"({(after - before) / 1024.0 / 1024.0:N1} MiB)");
        var copying = await CpuAsync(() =>
        {
            for (var i = 0; i < count; i++)
            {
                _ = Copy(template);
            }
            return Task.CompletedTask;
        });
        Console.WriteLine($"storing: {cpu.TotalMicroseconds / count:N1} µs of CPU a message (the process: added queued, taken, stored sent; GC included), " +
                          $"of which {copying.TotalMicroseconds / count:N1} µs making the copy");

        var reads = ids.TakeLast(held).ToArray();
        const int Reads = 20_000;
        cpu = await CpuAsync(async () =>
        {
            for (var i = 0; i < Reads; i++)
            {
                _ = await store.FindAsync(reads[i * 7919 % reads.Length], CancellationToken.None) ?? throw new InvalidOperationException("A message went missing.");
            }
        });
        Console.WriteLine($"reading: {cpu.TotalMicroseconds / Reads:N1} µs of CPU a FindAsync of a sent message");

        const int Lists = 20;
        cpu = await CpuAsync(async () =>
        {
            for (var i = 0; i < Lists; i++)
            {
                _ = await store.ListAsync(new MessageQuery { Owner = "dev" }, CancellationToken.None);
            }
        });
        Console.WriteLine($"listing: {cpu.TotalMilliseconds / Lists:N1} ms of CPU a first page of 50 among {held:N0}");
        GC.KeepAlive(store);
        return 0;
    }

    /// <summary>
    /// <paramref name="count"/> copies of the template through the store as the service stores a message: added queued,
    /// taken by a worker, stored sent. Their ids, and the process's CPU time it took.
    /// </summary>
    private static async Task<(Guid[] Ids, TimeSpan Cpu)> FillAsync(InMemoryMessageStore store, string template, int count)
    {
        var ids = new Guid[count];
        var cpu = await CpuAsync(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var sent = Copy(template);
                ids[i] = sent.Id;
                var queued = sent with
                {
                    Status = MessageStatus.Queued,
                    Attempts = [],
                    Events = [],
                    FinalReply = null,
                    QueueId = null,
                    SentAt = null,
                    Upstream = null,
                    Recipients = [.. sent.Recipients.Select(r => r with { Status = RecipientStatus.Pending, Reply = null })],
                };
                await store.AddAsync([queued], null, CancellationToken.None);
                var taken = (await store.TakeQueuedAsync([sent.Id], "bench", sent.CreatedAt, CancellationToken.None)).Single();
                _ = await store.TryUpdateAsync(sent with { Version = taken.Version }, CancellationToken.None)
                    ?? throw new InvalidOperationException("The store refused the sent message.");
            }
        });
        return (ids, cpu);
    }

    /// <summary>The CPU time of the whole process (every thread: the collector's too) while <paramref name="run"/> runs.</summary>
    private static async Task<TimeSpan> CpuAsync(Func<Task> run)
    {
        var start = Process.GetCurrentProcess().TotalProcessorTime;
        await run();
        return Process.GetCurrentProcess().TotalProcessorTime - start;
    }

    /// <summary>A copy of the template with its own id and its own strings, as if another request had made it.</summary>
    private static StoredMessage Copy(string template)
    {
        var message = JsonSerializer.Deserialize<StoredMessage>(template, Json)!;
        var id = MessageOrder.NewId(message.CreatedAt);
        return message with { Id = id, MessageId = $"<{id}@domain.local>", Version = 0 };
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>The bench's message sent by the service to its capture relay, as its store holds it once sent.</summary>
    private static async Task<StoredMessage> FinishedByTheServiceAsync()
    {
        var folder = Directory.CreateTempSubdirectory("mailapi-store-memory-");
        try
        {
            await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
            {
                builder.UseEnvironment("Development");
                builder.UseSolutionRelativeContentRoot("src/MailApi");
                builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Logging:LogLevel:Default"] = "Warning",
                    ["DevRelay:Port"] = FreePort().ToString(),
                    ["DevRelay:Folder"] = folder.FullName,
                }));
            });
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.Add("X-Api-Key", "mailapi-dev-key");
            var text = string.Join("\r\n", Enumerable.Range(0, 2000 / 80).Select(i => $"{i:D3} " + new string('x', 74)));
            var posted = await client.PostAsJsonAsync("/v1/messages", new
            {
                from = "Bench <bench@domain.local>",
                to = new[] { "sink@domain.local" },
                subject = "Benchmark message",
                text,
            });
            var id = Guid.Parse((string)(await posted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
            var store = factory.Services.GetRequiredService<IMessageStore>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (await store.FindAsync(id, CancellationToken.None) is { Status: MessageStatus.Sent } sent)
                {
                    return sent;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("The service did not send the bench's message to its capture relay.");
                }
                await Task.Delay(50);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
    }
}
