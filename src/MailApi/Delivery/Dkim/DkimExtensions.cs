using Microsoft.Extensions.Options;

namespace MailApi.Delivery.Dkim;

public static class DkimExtensions
{
    /// <summary>DKIM signing with the keys of <c>Dkim:Keys</c>, each read at start.</summary>
    public static WebApplicationBuilder AddDkim(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DkimOptions>().BindConfiguration(DkimOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DkimOptions>, DkimOptionsValidation>();
        builder.Services.AddSingleton<DkimSigning>();
        return builder;
    }
}
