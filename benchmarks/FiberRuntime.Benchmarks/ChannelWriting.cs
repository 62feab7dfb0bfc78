using System.Threading.Channels;

namespace FiberRuntime.Benchmarks;

/// <summary>The Task side of the queue hand-off benchmarks: an async writer on the thread pool.</summary>
internal static class ChannelWriting
{
    /// <summary>Writes 0 .. <paramref name="count"/> - 1 with <c>WriteAsync</c>, then completes the channel.</summary>
    public static Task Start(Channel<int> channel, long count) => Task.Run(async () =>
    {
        for (long i = 0; i < count; i++) await channel.Writer.WriteAsync((int)i).ConfigureAwait(false);
        channel.Writer.Complete();
    });
}
