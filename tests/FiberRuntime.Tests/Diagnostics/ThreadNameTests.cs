namespace FiberRuntime.Tests.Diagnostics;

/// <summary>Profilers and debuggers show suspended fibers on the hub's identity threads: those threads say so in
/// their name (Linux keeps the first 15 bytes of it as the OS thread name).</summary>
public sealed class ThreadNameTests
{
    private static int ThreadsNamed(string prefix) =>
        Directory.EnumerateDirectories("/proc/self/task")
                 .Count(task => File.Exists(Path.Combine(task, "comm")) &&
                                File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n').StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public void A_hubs_identity_thread_is_named_for_the_parked_fibers_it_carries()
    {
        string hubThreadName = "", osNamePrefix = "FiberRuntime pa";   // "FiberRuntime parked fibers (hub N)", cut to 15 bytes
        int identityThreads = 0;
        Hub.Run(() =>
        {
            hubThreadName = Thread.CurrentThread.Name ?? "";
            identityThreads = ThreadsNamed(osNamePrefix);
        });
        Assert.Equal("FiberRuntime hub", hubThreadName);
        Assert.True(identityThreads >= 1, "no thread named for parked fibers while a hub runs");
    }
}
