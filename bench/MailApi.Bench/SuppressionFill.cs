using Npgsql;

namespace MailApi.Bench;

/// <summary>
/// How the suppression bench fills a key's list on PostgreSQL: one <c>insert … select generate_series</c> into the table
/// the service migrated, then <c>analyze</c>. Shared by MailApi.Bench and MailApi.SuppressionLookup (linked there).
/// Every address is at <see cref="Domain"/>; the measured messages go to other domains, so their lookups miss.
/// </summary>
internal static class SuppressionFill
{
    public const string Domain = "listed.bench";

    /// <summary>The <paramref name="i"/>-th address on the list, from 1.</summary>
    public static string Address(int i) => $"s{i}@{Domain}";

    public static async Task FillAsync(NpgsqlDataSource db, string owner, int entries)
    {
        await using (var insert = db.CreateCommand("insert into mailapi_suppressions (owner, address, id, reason, created_at) "
            + $"select $1, 's' || g || '@{Domain}', gen_random_uuid(), 'manual', now() from generate_series(1, $2) g"))
        {
            insert.Parameters.Add(new() { Value = owner });
            insert.Parameters.Add(new() { Value = entries });
            await insert.ExecuteNonQueryAsync();
        }
        await using var analyze = db.CreateCommand("analyze mailapi_suppressions");
        await analyze.ExecuteNonQueryAsync();
    }

    /// <summary>Empties the table (every key's list).</summary>
    public static async Task EmptyAsync(NpgsqlDataSource db)
    {
        await using var truncate = db.CreateCommand("truncate mailapi_suppressions");
        await truncate.ExecuteNonQueryAsync();
    }
}
