using System.Threading.Tasks.Sources;

namespace FiberRuntime.Benchmarks;

/// <summary>
/// A reusable one-shot signal: one waiter awaits <see cref="WaitAsync"/>, another party calls
/// <see cref="Set"/>; consuming the result resets it for the next round. No allocation per use.
/// </summary>
/// <remarks>
/// <c>RunContinuationsAsynchronously = false</c>: <see cref="Set"/> runs the waiter's continuation inline
/// on the setting thread. This is the allocation-free choice (asynchronous continuations would queue a
/// thread-pool work item per hand-off) and measures the async machinery itself, as a greenlet switch
/// does: a side that is already waiting resumes on the setter's thread, so the two loops often end up
/// alternating on one thread instead of hopping between threads (expect a noisy, bimodal result). The protocol is
/// race-free because each side resets its own signal (in GetResult) before it signals the other side, which is the
/// only party that sets it again. Used by <see cref="SwitchBenchmarks"/> and the <c>compare</c> runner.
/// </remarks>
internal sealed class InlineSignal : IValueTaskSource<bool>
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };

    public ValueTask<bool> WaitAsync() => new(this, _core.Version);

    public void Set() => _core.SetResult(true);

    public bool GetResult(short token)
    {
        bool result = _core.GetResult(token);
        _core.Reset();
        return result;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
