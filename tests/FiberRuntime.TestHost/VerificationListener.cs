using System.Diagnostics.Tracing;

namespace FiberRuntime.TestHost;

/// <summary>Records the FiberRuntime source's RuntimeVerified event (written once, when the first hub verifies the
/// runtime), for the smoke scenario to print: the test suite checks it carries the verification note.</summary>
internal sealed class VerificationListener : EventListener
{
    public string? Note { get; private set; }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "FiberRuntime") EnableEvents(source, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName == "RuntimeVerified" && e.Payload is [string note]) Note = note;
    }
}
