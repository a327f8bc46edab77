using MailApi.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMailApi();

var app = builder.Build();
ProcessWide.Configure(app.Services);
app.MapMailApi();
app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
