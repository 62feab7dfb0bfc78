using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Runtime.InteropServices;
using System.Text;
using FiberRuntime.Scheduling;

namespace FiberRuntime.Diagnostics;

/// <summary>What a greenlet is doing at the moment of a run-info dump.</summary>
public enum GreenletRunState
{
    /// <summary>It owns its hub's thread (the hub loop answering the dump, or the fiber that asked for it).</summary>
    Running,

    /// <summary>Woken (or yielding) and waiting for its turn in the run queue.</summary>
    Ready,

    /// <summary>Blocked in a cooperative wait (sleep, join, event, queue, lock, socket...): see
    /// <see cref="GreenletRunInfo.WaitsOn"/>.</summary>
    Parked,

    /// <summary>Suspended in a raw <see cref="Greenlet.Switch"/>: only a switch to it resumes it.</summary>
    Suspended,

    /// <summary>Spawned, not started yet (in the run queue, or a <see cref="Fiber.SpawnLater(TimeSpan, Action)"/> timer).</summary>
    NotStarted,
}

/// <summary>One greenlet in a run-info dump.</summary>
/// <param name="Id">Its <see cref="Greenlet.Id"/>.</param>
/// <param name="Name">Its <see cref="Greenlet.Name"/>, else its body method (<c>Type.Method</c>), else its kind.</param>
/// <param name="Kind"><c>fiber</c>, <c>greenlet</c>, <c>main</c> (the hub's root greenlet) or <c>hub loop</c>.</param>
/// <param name="State">What it is doing.</param>
/// <param name="WaitsOn">What it waits for (parked, suspended or not started), else null.</param>
/// <param name="SpawnSite">Where it was created, when <see cref="HubOptions.CaptureSpawnSites"/> is on; else null.</param>
/// <param name="StackTrace">Its managed stack: for a suspended greenlet the one it recorded itself when it last
/// suspended (only with <see cref="HubOptions.CaptureWaitStacks"/>: another thread cannot walk a suspended fiber's
/// stack); for the running fiber that asked for the dump, its current stack; else null.</param>
public sealed record GreenletRunInfo(long Id, string Name, string Kind, GreenletRunState State, string? WaitsOn, string? SpawnSite, string? StackTrace)
{
    /// <summary>The state as the dump prints it: <c>running</c>, <c>ready</c>, <c>parked</c>, <c>suspended</c>, <c>not started</c>.</summary>
    public string StateText => State switch
    {
        GreenletRunState.NotStarted => "not started",
        _ => State.ToString().ToLowerInvariant(),
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb);
        return sb.ToString();
    }

    internal void Append(StringBuilder sb)
    {
        sb.Append("  #").Append(Id).Append(' ').Append(Name).Append(" [").Append(Kind).Append("] ").Append(StateText);
        if (WaitsOn is not null) sb.Append(": ").Append(WaitsOn);
        sb.Append('\n');
        if (SpawnSite is not null) AppendIndented(sb, "spawned at:", SpawnSite);
        if (StackTrace is not null)
            AppendIndented(sb, State == GreenletRunState.Running ? "stack (now):" : "stack (when it suspended):", StackTrace);
    }

    private static void AppendIndented(StringBuilder sb, string title, string text)
    {
        sb.Append("      ").Append(title).Append('\n');
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            sb.Append("      ").Append(line.TrimEnd('\r')).Append('\n');
    }
}

/// <summary>One hub in a run-info dump.</summary>
/// <param name="HubId">Its <see cref="Hub.Id"/>.</param>
/// <param name="ManagedThreadId">Its OS thread's managed id.</param>
/// <param name="Answered">False when the hub did not answer in time (its thread is busy: a fiber is blocking it);
/// then <see cref="Greenlets"/> is empty and <see cref="Note"/> says which greenlet holds the thread.</param>
/// <param name="Note">Why the hub gave no snapshot, or null.</param>
/// <param name="ReadyQueueLength">Entries in its run queue.</param>
/// <param name="PendingTimers">Timers scheduled (sleeps, timeouts, delayed spawns).</param>
/// <param name="IoWaiters">Fibers waiting for a descriptor.</param>
/// <param name="Greenlets">Its live greenlets: main first, then the hub loop, then by id.</param>
public sealed record HubRunInfo(int HubId, int ManagedThreadId, bool Answered, string? Note, int ReadyQueueLength, int PendingTimers,
                                int IoWaiters, IReadOnlyList<GreenletRunInfo> Greenlets)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb);
        return sb.ToString();
    }

    internal void Append(StringBuilder sb)
    {
        sb.Append("Hub ").Append(HubId).Append(" (thread ").Append(ManagedThreadId).Append("): ");
        if (!Answered)
        {
            sb.Append(Note).Append('\n');
            return;
        }
        sb.Append(Greenlets.Count).Append(" greenlets, run queue ").Append(ReadyQueueLength).Append(", timers ").Append(PendingTimers)
          .Append(", I/O waiters ").Append(IoWaiters).Append('\n');
        foreach (GreenletRunInfo g in Greenlets) g.Append(sb);
    }
}

/// <summary>
/// gevent's <c>print_run_info</c>: every live hub and every greenlet on it — id, name, state, what it waits on, where
/// it was spawned and its stack (when captured). From code (<see cref="Capture(TimeSpan?)"/>, <see cref="Dump"/>),
/// from a signal (<see cref="EnableSignal"/>, or the environment variable <c>FIBERRUNTIME_RUNINFO_SIGNAL=1</c>:
/// <c>kill -USR1 &lt;pid&gt;</c> prints it to standard error), or from a trace session: enabling the
/// <c>FiberRuntime</c> event source with the argument <c>RunInfo=1</c> writes it as <c>RunInfoHub</c> /
/// <c>RunInfoFiber</c> events.
/// </summary>
/// <remarks>
/// Safe from any thread: each hub takes its own snapshot on its own thread (the request goes through its inbox), so
/// the picture of a hub is consistent. A hub whose thread is blocked (a fiber that does not yield) cannot answer;
/// after the timeout it is reported with the greenlet that holds its thread. Called from a fiber, the caller's own hub
/// answers at once and other hubs are awaited without blocking the caller's hub.
/// </remarks>
public static class RunInfo
{
    private static int s_dumps;
    private static int s_environmentChecked;
    private static IDisposable? s_environmentSignal;

    /// <summary>How long a dump waits for a hub to answer when no timeout is given: 5 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>SIGUSR1 on Linux: the signal <see cref="EnableSignal"/> listens to by default.</summary>
    public const PosixSignal SigUsr1 = (PosixSignal)10;

    internal sealed record RawGreenlet(Greenlet Greenlet, GreenletRunState State, string? WaitsOn, StackTrace? SpawnSite, StackTrace? Stack);

    internal sealed record RawHub(Hub Hub, List<RawGreenlet> Greenlets, int Ready, int Timers, int IoWaiters);

    /// <summary>Snapshots every live hub (<see cref="Hub.LiveHubs"/>).</summary>
    /// <param name="timeout">How long to wait for the hubs to answer (default <see cref="DefaultTimeout"/>).</param>
    public static IReadOnlyList<HubRunInfo> Capture(TimeSpan? timeout = null)
    {
        TimeSpan limit = Limit(timeout);
        Hub[] hubs = [.. Hub.LiveHubs];
        var requests = new Task<RawHub>?[hubs.Length];
        for (int i = 0; i < hubs.Length; i++) requests[i] = Request(hubs[i]);
        long deadline = Hub.DueAfter(limit);
        var result = new List<HubRunInfo>(hubs.Length);
        for (int i = 0; i < hubs.Length; i++) result.Add(Complete(hubs[i], requests[i], deadline, limit));
        return result;
    }

    /// <summary>Snapshots one hub.</summary>
    /// <param name="hub">The hub.</param>
    /// <param name="timeout">How long to wait for it to answer (default <see cref="DefaultTimeout"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="hub"/> is null.</exception>
    public static HubRunInfo Capture(Hub hub, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(hub);
        TimeSpan limit = Limit(timeout);
        return Complete(hub, Hub.LiveHubs.Contains(hub) ? Request(hub) : null, Hub.DueAfter(limit), limit);
    }

    /// <summary>The dump of every live hub as text (what <see cref="Dump"/> writes).</summary>
    /// <param name="timeout">How long to wait for the hubs to answer (default <see cref="DefaultTimeout"/>).</param>
    public static string Format(TimeSpan? timeout = null) => Format(Capture(timeout));

    /// <summary>Writes the dump of every live hub to <paramref name="writer"/>.</summary>
    /// <param name="writer">Where to write, e.g. <see cref="Console.Error"/>.</param>
    /// <param name="timeout">How long to wait for the hubs to answer (default <see cref="DefaultTimeout"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    public static void Dump(TextWriter writer, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Format(timeout));
        writer.Flush();
    }

    /// <summary>The text of a captured dump.</summary>
    public static string Format(IReadOnlyList<HubRunInfo> hubs)
    {
        ArgumentNullException.ThrowIfNull(hubs);
        var sb = new StringBuilder();
        sb.Append("FiberRuntime run info: process ").Append(Environment.ProcessId).Append(", ").Append(hubs.Count)
          .Append(hubs.Count == 1 ? " hub" : " hubs").Append(", ").Append(DateTime.UtcNow.ToString("O")).Append('\n');
        bool stacksMissing = false;
        foreach (HubRunInfo hub in hubs)
        {
            hub.Append(sb);
            foreach (GreenletRunInfo g in hub.Greenlets)
                stacksMissing |= g.StackTrace is null && g.State is GreenletRunState.Parked or GreenletRunState.Suspended or GreenletRunState.Ready;
        }
        if (stacksMissing)
            sb.Append("(stacks of suspended greenlets are recorded only with HubOptions.CaptureWaitStacks or FIBERRUNTIME_WAIT_STACKS=1; " +
                      "spawn sites with HubOptions.CaptureSpawnSites or FIBERRUNTIME_SPAWN_SITES=1)\n");
        return sb.ToString();
    }

    // ---- the signal -------------------------------------------------------------------------------------------

    /// <summary>From now on, <paramref name="signal"/> (default SIGUSR1: <c>kill -USR1 &lt;pid&gt;</c>) writes a dump to
    /// <paramref name="writer"/> (default standard error), and, when a trace session has the <c>FiberRuntime</c>
    /// source's Diagnostics keyword on, as <c>RunInfoHub</c> / <c>RunInfoFiber</c> events. Dispose the result to stop.
    /// The dump is taken on a thread-pool thread, never in the signal handler.</summary>
    /// <param name="signal">A <see cref="PosixSignal"/> or, cast to it, a raw Linux signal number.</param>
    /// <param name="writer">Where the text goes; null for standard error.</param>
    /// <exception cref="PlatformNotSupportedException">The platform does not support that signal.</exception>
    public static IDisposable EnableSignal(PosixSignal signal = SigUsr1, TextWriter? writer = null) =>
        PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;      // SIGUSR1's default action would end the process
            ThreadPool.UnsafeQueueUserWorkItem(static w => DumpForSignal((TextWriter?)w), writer);
        });

    /// <summary>FIBERRUNTIME_RUNINFO_SIGNAL: "1", "true" or "USR1" for SIGUSR1, "USR2" for SIGUSR2, or a signal
    /// number. Checked once, when the first hub starts.</summary>
    internal static void EnableSignalFromEnvironment()
    {
        if (Interlocked.Exchange(ref s_environmentChecked, 1) != 0) return;
        string? v = Environment.GetEnvironmentVariable("FIBERRUNTIME_RUNINFO_SIGNAL")?.Trim();
        if (string.IsNullOrEmpty(v) || v == "0" || v.Equals("false", StringComparison.OrdinalIgnoreCase)) return;
        string name = v.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal)) name = name[3..];
        int number = name switch
        {
            "1" or "TRUE" or "USR1" => 10,
            "USR2" => 12,
            _ => int.TryParse(name, out int n) && n > 0 ? n : -1,
        };
        if (number < 0)
        {
            Console.Error.WriteLine($"FiberRuntime: FIBERRUNTIME_RUNINFO_SIGNAL={v} is not a signal (use 1, USR1, USR2 or a number); ignored.");
            return;
        }
        try
        {
            s_environmentSignal = EnableSignal((PosixSignal)number);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or IOException or ArgumentOutOfRangeException)
        {
            Console.Error.WriteLine($"FiberRuntime: cannot handle signal {number} for run-info dumps: {e.Message}");
        }
    }

    private static void DumpForSignal(TextWriter? writer)
    {
        try
        {
            IReadOnlyList<HubRunInfo> hubs = Capture();
            TextWriter w = writer ?? Console.Error;
            w.Write(Format(hubs));
            w.Flush();
            if (FiberRuntimeEventSource.Log.IsEnabled(EventLevel.Informational, EventKeywords.None))
                WriteEvents(hubs);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"FiberRuntime: the run-info dump failed: {e}");
        }
    }

    // ---- trace events -----------------------------------------------------------------------------------------

    /// <summary>Captures a dump and writes it as events (a trace session asked with <c>RunInfo=1</c>).</summary>
    internal static void WriteEvents()
    {
        try
        {
            WriteEvents(Capture());
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"FiberRuntime: the run-info dump failed: {e}");
        }
    }

    private const int MaxEventText = 8000;      // EventPipe drops events over 64 KiB: keep every string well under

    private static void WriteEvents(IReadOnlyList<HubRunInfo> hubs)
    {
        FiberRuntimeEventSource log = FiberRuntimeEventSource.Log;
        int dump = Interlocked.Increment(ref s_dumps);
        foreach (HubRunInfo hub in hubs)
        {
            log.RunInfoHub(dump, hub.HubId, hub.ManagedThreadId, hub.Greenlets.Count, hub.ReadyQueueLength, hub.PendingTimers, hub.IoWaiters,
                           hub.Answered ? "answered" : Cut(hub.Note));
            foreach (GreenletRunInfo g in hub.Greenlets)
                log.RunInfoFiber(dump, hub.HubId, g.Id, Cut(g.Name), g.Kind, g.StateText, Cut(g.WaitsOn), Cut(g.SpawnSite), Cut(g.StackTrace));
        }
    }

    private static string Cut(string? s) => s is null ? "" : s.Length <= MaxEventText ? s : s[..MaxEventText] + "...";

    // ---- taking the snapshots ---------------------------------------------------------------------------------

    private static TimeSpan Limit(TimeSpan? timeout)
    {
        Hub.ValidateTimeout(timeout);
        return timeout is { } t && t != Timeout.InfiniteTimeSpan ? t : timeout is null ? DefaultTimeout : TimeSpan.FromDays(1);
    }

    /// <summary>Asks <paramref name="hub"/> for its snapshot: at once on its own thread, else through its inbox.</summary>
    private static Task<RawHub>? Request(Hub hub)
    {
        if (hub.IsStopping) return null;
        if (hub.IsCallerOnHub) return Task.FromResult(HubSnapshot.Take(hub));
        var answer = new TaskCompletionSource<RawHub>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Post(() =>
        {
            try
            {
                answer.TrySetResult(HubSnapshot.Take(hub));
            }
            catch (Exception e)
            {
                answer.TrySetException(e);
            }
        });
        return answer.Task;
    }

    private static HubRunInfo Complete(Hub hub, Task<RawHub>? request, long deadline, TimeSpan limit)
    {
        if (request is null) return NoAnswer(hub, "stopped (or stopping): no snapshot");
        if (!request.IsCompleted)
        {
            TimeSpan left = Hub.TimeLeft(deadline) ?? TimeSpan.Zero;
            try
            {
                if (Hub.Current is not null && Fiber.Current is not null) Fiber.Await(request.WaitAsync(left));
                else request.Wait(left);
            }
            catch (TimeoutException)
            {
            }
            catch (AggregateException)
            {
            }
        }
        if (!request.IsCompletedSuccessfully)
        {
            if (request.IsFaulted) return NoAnswer(hub, $"the snapshot failed: {request.Exception?.InnerException?.Message}");
            Greenlet? running = hub.RunningGreenletRacy;
            return NoAnswer(hub, hub.IsStopping
                ? "stopped while the dump waited"
                : $"did not answer within {limit.TotalSeconds:0.###} s: its thread is busy" +
                  (running is null ? "" : $", running #{running.Id} {running.Name ?? running.Kind} (a fiber that does not yield blocks the hub)"));
        }
        return Build(request.Result);
    }

    private static HubRunInfo NoAnswer(Hub hub, string note) => new(hub.Id, hub.ManagedThreadId, false, note, 0, 0, 0, []);

    private static HubRunInfo Build(RawHub raw)
    {
        var greenlets = new List<GreenletRunInfo>(raw.Greenlets.Count);
        foreach (RawGreenlet r in raw.Greenlets)
        {
            Greenlet g = r.Greenlet;
            greenlets.Add(new GreenletRunInfo(g.Id, g.DisplayName, g.Kind, r.State, r.WaitsOn,
                r.SpawnSite is null ? null : GreenletDiagnostics.Format(r.SpawnSite),
                r.Stack is null ? null : GreenletDiagnostics.Format(r.Stack)));
        }
        greenlets.Sort(static (a, b) => Rank(a).CompareTo(Rank(b)) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));
        return new HubRunInfo(raw.Hub.Id, raw.Hub.ManagedThreadId, true, null, raw.Ready, raw.Timers, raw.IoWaiters, greenlets);
    }

    private static int Rank(GreenletRunInfo g) => g.Kind switch { "main" => 0, "hub loop" => 1, _ => 2 };
}
