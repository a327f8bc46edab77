using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>
/// The whole OpenAPI setup: document, API-key scheme, answers and examples, servers, Swagger UI at <c>/swagger</c>.
/// CI lints the served document with Redocly's recommended rules and fails on an error.
/// </summary>
public static class OpenApiDocs
{
    public const string SchemeName = "ApiKey";

    public const string BearerSchemeName = "Bearer";

    public static WebApplicationBuilder AddOpenApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(c =>
        {
            c.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "MailApi",
                Version = "v1",
                Description = "Send mail through your own SMTP relay with one HTTP call, and read exactly what the relay said.",
            });
            c.AddSecurityDefinition(SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = "X-Api-Key",
                Description = "An API key from Auth:ApiKeys (in Development: `mailapi-dev-key`) in the X-Api-Key header.",
            });
            c.AddSecurityDefinition(BearerSchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The same API key as `Authorization: Bearer <key>`.",
            });
            // Two requirements: either scheme alone is enough.
            c.AddSecurityRequirement(doc => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(SchemeName, doc)] = new List<string>(),
            });
            c.AddSecurityRequirement(doc => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerSchemeName, doc)] = new List<string>(),
            });
            // Nullability from the C# annotations; a nullable $ref is written as allOf + nullable, which OpenAPI 3.0 can say.
            c.SupportNonNullableReferenceTypes();
            c.UseAllOfToExtendReferenceSchemas();
            c.SchemaFilter<OpenApiSchemas>();
            c.DocumentFilter<OpenApiSchemas>();
            // Answers first: it adds the 503 every route can give, which the examples then fill.
            c.OperationFilter<OpenApiAnswers>();
            c.OperationFilter<OpenApiExamples>();
            c.OperationFilter<OpenApiWebhookExamples>();
            c.OperationFilter<OpenApiSuppressionExamples>();
            c.OperationFilter<OpenApiBounceExamples>();
            c.DocumentFilter<TagDescriptions>();
            var xml = Path.Combine(AppContext.BaseDirectory, "MailApi.xml");
            if (File.Exists(xml))
            {
                c.IncludeXmlComments(xml);
            }
        });
        return builder;
    }

    public static WebApplication MapOpenApiDocs(this WebApplication app)
    {
        app.UseSwagger(o => o.PreSerializeFilters.Add((doc, request) =>
        {
            // The address the document was fetched from, so a client generated from it (or Swagger UI) calls this
            // instance, wherever it runs; a fixed URL would be wrong on every other host.
            doc.Servers = [new OpenApiServer { Url = $"{request.Scheme}://{request.Host.Value}{request.PathBase}", Description = "This instance" }];
        }));
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "MailApi v1");
            ui.DocumentTitle = "MailApi";
            ui.EnablePersistAuthorization();
        });
        app.MapGet("/", () => Results.Redirect("/swagger")).ExcludeFromDescription();
        return app;
    }

    /// <summary>Minimal API tags carry only a name; the document says what each group is for.</summary>
    private sealed class TagDescriptions : IDocumentFilter
    {
        public void Apply(OpenApiDocument document, DocumentFilterContext context) =>
            document.Tags = new HashSet<OpenApiTag>
            {
                new() { Name = "Messages", Description = "Send messages through the configured SMTP relay and read what the relay answered." },
                new() { Name = "Webhooks", Description = "Endpoints that are sent every status change of this key's messages, signed per Standard Webhooks." },
            };
    }
}
