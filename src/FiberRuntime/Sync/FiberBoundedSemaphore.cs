using System.Diagnostics;

namespace FiberRuntime;

/// <summary>
/// A semaphore that refuses to be released above its initial count (gevent's <c>gevent.lock.BoundedSemaphore</c>):
/// a <see cref="FiberSemaphore.Release"/> with every permit already free throws <see cref="InvalidOperationException"/>
/// (gevent raises <c>ValueError</c>), which catches releases that were never acquired.
/// </summary>
[DebuggerDisplay("FiberBoundedSemaphore: CurrentCount = {CurrentCount}, InitialCount = {InitialCount}")]
public sealed class FiberBoundedSemaphore : FiberSemaphore
{
    /// <summary>Creates a bounded semaphore with <paramref name="initialCount"/> free permits, also its maximum.</summary>
    /// <param name="initialCount">The permits free at the start, and the most that may ever be free.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCount"/> is negative.</exception>
    public FiberBoundedSemaphore(int initialCount = 1) : base(initialCount, bounded: true)
    {
    }
}
