using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.Hosting;

/// <summary>The whole OpenAPI setup: document, API-key scheme, examples, Swagger UI at <c>/swagger</c>.</summary>
public static class OpenApiDocs
{
    public const string SchemeName = "ApiKey";

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
                Description = "An API key from Auth:ApiKeys (in Development: mailapi-dev-key). 'Authorization: Bearer <key>' works too.",
            });
            c.AddSecurityRequirement(doc => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(SchemeName, doc)] = new List<string>(),
            });
            c.OperationFilter<OpenApiExamples>();
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
        app.UseSwagger();
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "MailApi v1");
            ui.DocumentTitle = "MailApi";
            ui.EnablePersistAuthorization();
        });
        app.MapGet("/", () => Results.Redirect("/swagger")).ExcludeFromDescription();
        return app;
    }
}
