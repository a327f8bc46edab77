using System.Text.Json;
using FluentValidation;

namespace MailApi.Messages;

public static class MessagesExtensions
{
    public static WebApplicationBuilder AddMessages(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Validation errors are keyed by JSON path (to[1], attachments[0].content), never by C# names.
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
        ValidatorOptions.Global.DisplayNameResolver = ValidatorOptions.Global.PropertyNameResolver;
        builder.Services.AddValidatorsFromAssemblyContaining<SendMessageValidator>(ServiceLifetime.Singleton);
        builder.Services.AddSingleton<MessageSubmitter>();
        return builder;
    }
}
