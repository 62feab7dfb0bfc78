using System.Diagnostics;

namespace FiberRuntime;

/// <summary>Raised when a queue is full: a non-blocking put found no room, or a put timed out (gevent's <c>gevent.queue.Full</c>).</summary>
[DebuggerDisplay("{GetType().Name,nq}: {Message}")]
public class QueueFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QueueFullException() : base("The queue is full.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public QueueFullException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public QueueFullException(string message, Exception innerException) : base(message, innerException) { }
}
