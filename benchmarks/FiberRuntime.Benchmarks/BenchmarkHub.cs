using System.Runtime.ExceptionServices;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// One long-lived hub for a benchmark class: creating a hub costs ~1 ms (two threads, a reservation), so each
/// class starts one in [GlobalSetup] and hands it work. <see cref="Invoke"/> runs an action on the hub's root
/// greenlet and waits for it: two SemaphoreSlim wake-ups (a few µs), amortised over the thousands of operations
/// each invocation performs.
/// </summary>
internal sealed class BenchmarkHub : IDisposable
{
    private readonly SemaphoreSlim _request = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private readonly Thread _caller;
    private Action? _work;
    private ExceptionDispatchInfo? _error;

    /// <param name="setup">Runs once on the hub's root greenlet before any work (e.g. to create greenlets).</param>
    public BenchmarkHub(Action? setup = null)
    {
        using var ready = new ManualResetEventSlim();
        _caller = new Thread(() =>
        {
            try
            {
                Hub.Run(() =>
                {
                    setup?.Invoke();
                    ready.Set();
                    while (true)
                    {
                        // blocking the root greenlet in SemaphoreSlim.Wait is fine: nothing else runs on this hub
                        // between requests
                        _request.Wait();
                        Action? work = _work;
                        if (work is null) break;
                        try
                        {
                            work();
                        }
                        catch (Exception e)
                        {
                            _error = ExceptionDispatchInfo.Capture(e);
                        }
                        _done.Release();
                    }
                    // returning ends the hub: greenlets still suspended receive GreenletExit and unwind
                });
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                ready.Set();
            }
        })
        { IsBackground = true, Name = "benchmark hub caller" };
        _caller.Start();
        ready.Wait();
        _error?.Throw();
    }

    /// <summary>Runs <paramref name="work"/> on the hub's root greenlet and waits for it, rethrowing its exception.</summary>
    public void Invoke(Action work)
    {
        _work = work;
        _request.Release();
        _done.Wait();
        _error?.Throw();
    }

    public void Dispose()
    {
        _work = null;
        _request.Release();
        _caller.Join();
        _error?.Throw();
    }
}
