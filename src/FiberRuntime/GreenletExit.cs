namespace FiberRuntime;

/// <summary>
/// Ends a greenlet quietly (gevent/greenlet's <c>GreenletExit</c>). Thrown into a greenlet with
/// <see cref="Greenlet.Throw"/>, it unwinds the greenlet's <c>finally</c> blocks; when it escapes the
/// greenlet's run, the greenlet dies and its parent receives the exception object as the return value of
/// its pending <see cref="Greenlet.Switch"/> instead of having it raised.
/// </summary>
public class GreenletExit : Exception
{
    /// <summary>Creates a <see cref="GreenletExit"/> with a default message.</summary>
    public GreenletExit() : base("The greenlet was asked to exit.") { }

    /// <summary>Creates a <see cref="GreenletExit"/> with the given message.</summary>
    public GreenletExit(string message) : base(message) { }

    /// <summary>Creates a <see cref="GreenletExit"/> with the given message and inner exception.</summary>
    public GreenletExit(string message, Exception innerException) : base(message, innerException) { }
}
