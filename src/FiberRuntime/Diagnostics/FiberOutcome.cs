namespace FiberRuntime.Diagnostics;

/// <summary>How a greenlet ended, as trace events report it.</summary>
public enum FiberOutcome
{
    /// <summary>Its body returned.</summary>
    Success = 0,

    /// <summary>An exception ended it.</summary>
    Exception = 1,

    /// <summary>A <see cref="GreenletExit"/> ended it (a kill, the hub shutting down), or it was killed before it started.</summary>
    Killed = 2,
}
