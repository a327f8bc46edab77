namespace MailApi.Testing;

/// <summary>
/// The <c>KEY=VALUE</c> file a script of tests/relays writes beside the server it started (relay.env, dovecot.env): how
/// the tests find that server's ports, folders and login.
/// </summary>
internal static class EnvFile
{
    /// <summary>What <paramref name="file"/> describes, made by <paramref name="make"/>.</summary>
    /// <exception cref="InvalidOperationException">There is no such file, or it lacks a key <paramref name="make"/> reads.</exception>
    public static T Read<T>(string file, Func<IReadOnlyDictionary<string, string>, T> make)
    {
        if (!File.Exists(file))
        {
            throw new InvalidOperationException($"{file} does not exist");
        }
        var env = File.ReadAllLines(file).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        try
        {
            return make(env);
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException)
        {
            throw new InvalidOperationException($"{file} is incomplete ({e.Message})", e);
        }
    }

    /// <summary>
    /// The server started in the folder that <paramref name="variable"/> names (else <paramref name="folder"/>), as
    /// <paramref name="at"/> reads it; or null and why there is none.
    /// </summary>
    public static (T? Server, string Why) Find<T>(string variable, string folder, Func<string, T> at) where T : class
    {
        try
        {
            return (at(Environment.GetEnvironmentVariable(variable) is { Length: > 0 } d ? d : folder), "");
        }
        catch (InvalidOperationException e)
        {
            return (null, e.Message);
        }
    }
}
