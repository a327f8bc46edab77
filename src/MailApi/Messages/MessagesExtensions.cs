using System.Text.Json;
using FluentValidation;

namespace MailApi.Messages;

public static class MessagesExtensions
{
    public static WebApplicationBuilder AddMessages(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        UseJsonPathNames();
        builder.Services.AddValidatorsFromAssemblyContaining<SendMessageValidator>(ServiceLifetime.Singleton);
        builder.Services.AddSingleton<MessageSubmitter>();
        return builder;
    }

    /// <summary>Validation errors are keyed by JSON path (<c>to[1]</c>, <c>attachments[0].content</c>), never by C# names.</summary>
    public static void UseJsonPathNames()
    {
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
        ValidatorOptions.Global.DisplayNameResolver = ValidatorOptions.Global.PropertyNameResolver;
    }
}
