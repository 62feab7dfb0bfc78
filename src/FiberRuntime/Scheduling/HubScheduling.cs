using System.Runtime.CompilerServices;

namespace FiberRuntime.Scheduling;

/// <summary>The scheduler's API as the layers above call it: <c>hub.WaitOn(...)</c>, <c>hub.Wake(...)</c>,
/// <c>hub.Post(...)</c>. Each forwards to <see cref="Hub.Scheduler"/>; <see cref="Hub"/> itself knows only switching.</summary>
internal static class HubScheduling
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int PrepareWait(this Hub hub) => hub.Scheduler.PrepareWait();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static object? Park(this Hub hub, string reason, object? subject = null) => hub.Scheduler.Park(reason, subject);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Wake(this Hub hub, Greenlet g, int token, object? value = null, Exception? error = null) =>
        hub.Scheduler.Wake(g, token, value, error);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static object? WaitOn(this Hub hub, WaitQueue queue, TimeSpan? timeout, string reason, object? item = null, object? subject = null) =>
        hub.Scheduler.WaitOn(queue, timeout, reason, item, subject);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SleepFor(this Hub hub, TimeSpan delay, string reason) => hub.Scheduler.SleepFor(delay, reason);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void InterruptSoon(this Hub hub, Greenlet g, Exception error) => hub.Scheduler.InterruptSoon(g, error);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScheduleStart(this Hub hub, Greenlet g, object? argument = null) => hub.Scheduler.ScheduleStart(g, argument);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScheduleCallback(this Hub hub, Action<object?> callback, object? state) => hub.Scheduler.ScheduleCallback(callback, state);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StartTimer(this Hub hub, HubTimer timer, TimeSpan delay) => hub.Scheduler.StartTimer(timer, delay);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CancelTimer(this Hub hub, HubTimer timer) => hub.Scheduler.CancelTimer(timer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Post(this Hub hub, Action action) => hub.Scheduler.Post(action);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddKeepAlive(this Hub hub) => hub.Scheduler.AddKeepAlive();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ReleaseKeepAlive(this Hub hub) => hub.Scheduler.ReleaseKeepAlive();

    internal static void CancelDescriptorWaits(this Hub hub, int fd, Exception error) => hub.Scheduler.CancelDescriptorWaits(fd, error);
}
