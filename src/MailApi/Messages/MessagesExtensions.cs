using FluentValidation;

namespace MailApi.Messages;

public static class MessagesExtensions
{
    public static WebApplicationBuilder AddMessages(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddValidatorsFromAssemblyContaining<SendMessageValidator>(ServiceLifetime.Singleton);
        builder.Services.AddSingleton<BacklogGauge>();
        builder.Services.AddSingleton<MessageSubmitter>();
        return builder;
    }
}
