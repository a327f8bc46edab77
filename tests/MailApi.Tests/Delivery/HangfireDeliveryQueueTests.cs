using Hangfire.Common;
using MailApi.Delivery;

namespace MailApi.Tests.Delivery;

public sealed class HangfireDeliveryQueueTests
{
    [Fact]
    public void The_job_is_the_one_the_lambda_form_makes()
    {
        var id = Guid.CreateVersion7();
        var expected = Job.FromExpression<DeliveryJob>(job => job.RunAsync(id, CancellationToken.None));

        var actual = HangfireDeliveryQueue.JobFor(id);

        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Method, actual.Method);
        Assert.Equal(expected.Args, actual.Args);
        Assert.Equal(expected.Queue, actual.Queue);
        Assert.Equal(
            Hangfire.Storage.InvocationData.SerializeJob(expected).Arguments,
            Hangfire.Storage.InvocationData.SerializeJob(actual).Arguments);
    }
}
