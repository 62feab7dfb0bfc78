namespace FiberRuntime;

/// <summary>gevent's <c>LoopExit</c>: the operation would block forever, because every greenlet of the hub
/// waits and nothing (no ready greenlet, timer, I/O or other thread) can wake any of them.</summary>
public sealed class LoopExitException : InvalidOperationException
{
    /// <summary>Creates the exception with a message naming what is waited for.</summary>
    public LoopExitException(string message) : base(message) { }
}
