# Build: the same `dotnet publish` that .ci/run exercises.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig appsettings.json ./
COPY src/MailApi/MailApi.csproj src/MailApi/
RUN dotnet restore src/MailApi/MailApi.csproj
COPY src/ src/
RUN dotnet publish src/MailApi/MailApi.csproj -c Release -o /app --no-restore

# Run: the ASP.NET runtime only, as the image's unprivileged user.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The root appsettings.json is the one configuration file; publish copied it here, this makes that explicit.
COPY appsettings.json ./appsettings.json
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_NOLOGO=1
EXPOSE 8080
USER $APP_UID
ENTRYPOINT ["dotnet", "MailApi.dll"]
