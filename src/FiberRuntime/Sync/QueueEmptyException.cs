using System.Diagnostics;

namespace FiberRuntime;

/// <summary>Raised when a queue is empty: a non-blocking get found no item, or a get timed out (gevent's <c>gevent.queue.Empty</c>).</summary>
[DebuggerDisplay("{GetType().Name,nq}: {Message}")]
public class QueueEmptyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QueueEmptyException() : base("The queue is empty.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public QueueEmptyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public QueueEmptyException(string message, Exception innerException) : base(message, innerException) { }
}
