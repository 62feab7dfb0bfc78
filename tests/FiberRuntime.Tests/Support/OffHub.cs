namespace FiberRuntime.Tests;

/// <summary>Runs code on a fresh plain thread (not a hub) and reports what it threw.</summary>
internal static class OffHub
{
    public static Exception? Run(Action action)
    {
        Exception? caught = null;
        var t = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                caught = e;
            }
        });
        t.Start();
        t.Join();
        return caught;
    }
}
