#:property PublishAot=false
// What a database outage costs, measured: `dotnet run bench/outage.cs` from the repository root (after
// `dotnet build -c Release src/MailApi`). A private PostgreSQL cluster on 127.0.0.1, the service on it in Development
// (the dev key, the capture relay), a steady trickle of POSTs, PostgreSQL stopped (`pg_ctl stop -m fast`) for a while
// and started again. Prints how many POSTs got 202 / 503 / anything else, whether every 202 reached a final status,
// the copies the relay got, and how long the messages accepted just before the outage took to be sent.
// Options: --rate N (POSTs a second, 20), --before S (10), --outage S (10), --after S (10).
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

var rate = Option("--rate", 20);
var (before, outage, after) = (Option("--before", 10), Option("--outage", 10), Option("--after", 10));
var root = Directory.GetCurrentDirectory();
var dll = Path.Combine(root, "src/MailApi/bin/Release/net10.0/MailApi.dll");
if (!File.Exists(dll))
{
    Console.Error.WriteLine("Build first: dotnet build -c Release src/MailApi");
    return 2;
}
var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().Last();
var work = Directory.CreateTempSubdirectory("mailapi-outage-").FullName;
var (pgPort, apiPort, relayPort) = (FreePort(), FreePort(), FreePort());
Sh($"chown postgres:postgres '{work}'", asPostgres: false);
Sh($"'{bin}/initdb' -D '{work}/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > '{work}/initdb.log'");
void StartPostgres() => Sh($"'{bin}/pg_ctl' -D '{work}/data' -l '{work}/postgres.log' -w -t 60 -o \"-c listen_addresses=127.0.0.1 -p {pgPort} -k '{work}'\" start > /dev/null");
StartPostgres();

var captured = Path.Combine(work, "captured");
var service = Process.Start(new ProcessStartInfo("dotnet", [dll])
{
    WorkingDirectory = work,
    RedirectStandardOutput = true,
    RedirectStandardError = true,
    Environment =
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{apiPort}",
        ["Storage__Provider"] = "PostgreSql",
        ["Storage__ConnectionString"] = $"Host=127.0.0.1;Port={pgPort};Username=postgres;Database=postgres;Timeout=3",
        ["DevRelay__Port"] = relayPort.ToString(),
        ["DevRelay__Folder"] = captured,
        ["Logging__LogLevel__Default"] = "Warning",
    },
})!;
service.OutputDataReceived += (_, _) => { };
service.ErrorDataReceived += (_, _) => { };
service.BeginOutputReadLine();
service.BeginErrorReadLine();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
http.DefaultRequestHeaders.Add("X-Api-Key", "mailapi-dev-key");
while (!await Ready())
{
    await Task.Delay(200);
}

var results = new List<(TimeSpan At, HttpStatusCode Status, string? Id)>();
var clock = Stopwatch.StartNew();
var total = TimeSpan.FromSeconds(before + outage + after);
var posts = new List<Task>();
var outageTask = Task.Run(async () =>
{
    await Task.Delay(TimeSpan.FromSeconds(before));
    Sh($"'{bin}/pg_ctl' -D '{work}/data' -m fast -w stop > /dev/null");
    await Task.Delay(TimeSpan.FromSeconds(outage));
    StartPostgres();
});
for (var i = 0; clock.Elapsed < total; i++)
{
    var n = i;
    posts.Add(Task.Run(async () =>
    {
        var at = clock.Elapsed;
        var response = await http.PostAsJsonAsync("/v1/messages", new JsonObject
        {
            ["from"] = "zotrim@domain.local", ["to"] = new JsonArray("student@domain.local"), ["subject"] = $"trickle {n}", ["text"] = "Hello",
        });
        var id = response.StatusCode == HttpStatusCode.Accepted ? (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"] : null;
        lock (results) { results.Add((at, response.StatusCode, id)); }
    }));
    var next = TimeSpan.FromSeconds((i + 1) / (double)rate);
    if (next > clock.Elapsed)
    {
        await Task.Delay(next - clock.Elapsed);
    }
}
await Task.WhenAll(posts);
await outageTask;

var accepted = results.Where(r => r.Id is not null).ToList();
var finals = new Dictionary<string, JsonObject>();
var deadline = DateTime.UtcNow.AddMinutes(5);
while (finals.Count < accepted.Count && DateTime.UtcNow < deadline)
{
    foreach (var (_, _, id) in accepted.Where(a => !finals.ContainsKey(a.Id!)))
    {
        var message = await http.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
        if ((string?)message!["status"] is "sent" or "failed" or "partially_sent" or "canceled")
        {
            finals[id!] = message;
        }
    }
    await Task.Delay(500);
}
var files = Directory.Exists(captured) ? Directory.GetFiles(captured, "*.eml") : [];
var subjects = files.Select(f => File.ReadLines(f).First(l => l.StartsWith("Subject:", StringComparison.Ordinal))).ToList();
var delays = finals.Values.Select(m => DateTimeOffset.Parse((string)m["sentAt"]!) - DateTimeOffset.Parse((string)m["createdAt"]!)).Order().ToList();
Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores: {rate} POST/s for {before + outage + after} s, PostgreSQL down from {before} s to {before + outage} s");
Console.WriteLine($"POSTs: {results.Count}; 202: {accepted.Count}; 503: {results.Count(r => r.Status == HttpStatusCode.ServiceUnavailable)}; other: {results.Count(r => r.Id is null && r.Status != HttpStatusCode.ServiceUnavailable)}");
Console.WriteLine($"first 503 at {results.Where(r => r.Status == HttpStatusCode.ServiceUnavailable).Select(r => r.At.TotalSeconds).DefaultIfEmpty().Min():F1} s, first 202 after it at {accepted.Where(a => a.At.TotalSeconds > before + 0.5).Select(a => a.At.TotalSeconds).DefaultIfEmpty().Min():F1} s");
Console.WriteLine($"202s final: {finals.Count} of {accepted.Count} ({finals.Values.Count(m => (string?)m["status"] == "sent")} sent, {finals.Values.Count(m => (bool)m["possibleDuplicate"]!)} flagged possibleDuplicate)");
Console.WriteLine($"copies at the relay: {files.Length}, distinct subjects: {subjects.Distinct().Count()}");
Console.WriteLine($"accept -> sent: p50 {Percentile(0.5):F2} s, p99 {Percentile(0.99):F2} s, max {Percentile(1):F2} s");

service.Kill(entireProcessTree: true);
Sh($"'{bin}/pg_ctl' -D '{work}/data' -m immediate -w stop > /dev/null 2>&1 || true");
Directory.Delete(work, recursive: true);
return finals.Count == accepted.Count && subjects.Distinct().Count() == accepted.Count ? 0 : 1;

double Percentile(double p) => delays.Count == 0 ? 0 : delays[Math.Min(delays.Count - 1, (int)(p * delays.Count))].TotalSeconds;

async Task<bool> Ready()
{
    try
    {
        return (await http.GetAsync("/health/ready")).IsSuccessStatusCode;
    }
    catch (HttpRequestException)
    {
        return false;
    }
}

int Option(string name, int fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;

static int FreePort()
{
    var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}

// pg_ctl and initdb refuse root: as root they run as the postgres user.
static void Sh(string command, bool asPostgres = true)
{
    var start = asPostgres && Environment.UserName == "root"
        ? new ProcessStartInfo("su", ["postgres", "-s", "/bin/bash", "-c", command])
        : new ProcessStartInfo("bash", ["-c", command]);
    using var process = Process.Start(start)!;
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"`{command}` exited with {process.ExitCode}");
    }
}
