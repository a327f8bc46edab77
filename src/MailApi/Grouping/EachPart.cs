using System.Runtime.ExceptionServices;

namespace MailApi.Grouping;

/// <summary>
/// A round of <see cref="GroupedCalls{TItem, TResult}"/> served in parts, one after the other, where one part's failure
/// must fail its own callers only: the jobs of one due time, or a request's rows tried alone.
/// </summary>
internal static class EachPart
{
    /// <summary>
    /// Serves each part in turn; the results then give each item of a part that failed that part's error, and every other
    /// item its <paramref name="result"/>.
    /// </summary>
    public static async Task<Func<TItem, TResult>> ServeAsync<TItem, TResult>(
        IEnumerable<IReadOnlyList<TItem>> parts, Func<IReadOnlyList<TItem>, Task> serve, Func<TItem, TResult> result)
        where TItem : class
    {
        var failed = new Dictionary<TItem, ExceptionDispatchInfo>(ReferenceEqualityComparer.Instance);
        foreach (var part in parts)
        {
            try
            {
                await serve(part);
            }
            catch (Exception ex)
            {
                var error = ExceptionDispatchInfo.Capture(ex);
                foreach (var item in part)
                {
                    failed[item] = error;
                }
            }
        }
        return item =>
        {
            failed.GetValueOrDefault(item)?.Throw();
            return result(item);
        };
    }
}
