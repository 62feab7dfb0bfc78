using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FiberRuntime;
using FiberRuntime.IO;

namespace FiberRuntime.TestHost;

/// <summary>
/// <c>frames [--warm N]</c>: how many managed frames a parked fiber leaves on its stack per kind of wait, the number
/// every GC walks for it (each frame costs a code lookup, an unwind and GC-info decodes, on every walk). Prints one
/// line per wait kind: <c>FRAMES kind entry=E wait=W user=U total=T</c> (the library's frames below and above the
/// user's body, the body's own) and the recorded methods, innermost first.
/// </summary>
/// <remarks>
/// A parked fiber's frames are its entry (from the runtime's entry point up to the user's body), the body, and its
/// wait (the blocking call down to the switch P/Invoke). All come from the stack the fiber records as it parks
/// (<see cref="HubOptions.CaptureWaitStacks"/>: every frame below the one that switches), plus that frame and the
/// switch's own frame (NativeSwitch, which holds the P/Invoke's InlinedCallFrame), both the library's. <c>--warm N</c> first runs every wait N times and sleeps, so that tiered compilation
/// has replaced the Tier0 code of methods that are not compiled fully optimized from the start.
/// </remarks>
internal static class ParkedFrames
{
    public static int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--warm");
        int warm = i >= 0 ? int.Parse(args[i + 1]) : 0;
        var kinds = new (string Name, Func<Setup> Make)[]
        {
            ("FiberEvent.Wait", EventWait),
            ("FiberQueue.Get", QueueGet),
            ("Fiber.Sleep", Sleep),
            ("Fiber.Join", Join),
            ("FiberSocket.Receive", SocketReceive),
        };
        int rc = 0;
        Hub.Run(() =>
        {
            if (warm > 0)
            {
                foreach (var (_, make) in kinds)
                    for (int n = 0; n < warm; n++) Measure(make());
                Thread.Sleep(1500);                         // the tiering delay and background compilation
                foreach (var (_, make) in kinds)
                    for (int n = 0; n < warm; n++) Measure(make());
                Thread.Sleep(500);
            }
            foreach (var (name, make) in kinds)
            {
                (int entry, int wait, int user, string[] methods) = Measure(make());
                Console.WriteLine($"FRAMES {name} entry={entry} wait={wait} user={user} total={entry + wait + user}");
                foreach (string m in methods) Console.WriteLine("    " + m);
                if (entry <= 0 || wait <= 0) rc = 1;
            }
        }, new HubOptions { CaptureWaitStacks = true });
        return rc;
    }

    /// <summary>A fiber body that waits once, and a way to wake it.</summary>
    private sealed record Setup(Action Body, Action Release);

    /// <summary>Frames of the library below the user's frames (the entry), frames of the library above them (the wait,
    /// with the two the recorded stack leaves out: the frame that switches and the switch's own), the user's frames
    /// between, and every recorded method, innermost first.</summary>
    private static (int Entry, int Wait, int User, string[] Methods) Measure(Setup s)
    {
        Fiber f = Fiber.Spawn(s.Body);
        Fiber.Sleep(TimeSpan.FromMilliseconds(1));          // it runs to its wait and parks
        StackTrace recorded = f.DiagIfAny?.SuspendedStack ?? throw new InvalidOperationException("the fiber recorded no stack as it parked");
        StackFrame[] frames = recorded.GetFrames();
        bool[] user = frames.Select(fr => fr.GetMethod()?.DeclaringType?.Assembly != typeof(Hub).Assembly).ToArray();
        int firstUser = Array.IndexOf(user, true), lastUser = Array.LastIndexOf(user, true);
        string[] methods = frames.Select(fr => fr.GetMethod() is { } m ? $"{m.DeclaringType?.Name}.{m.Name}" : "?").ToArray();
        if (firstUser < 0) throw new InvalidOperationException("no frame of the fiber's body in its recorded stack: " + string.Join(", ", methods));
        s.Release();
        f.Join();
        if (!f.IsSuccessful) throw new InvalidOperationException($"the waiting fiber failed: {f.Exception}");
        return (frames.Length - 1 - lastUser, firstUser + 2, lastUser - firstUser + 1, methods);
    }

    // Each body does something after its wait, so that no optimized build of this host turns the wait into a
    // tail call (which would take the body's frame off the stack).
    private static int s_after;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void After(bool ok) => s_after += ok ? 1 : 0;

    private static bool Sleep20()
    {
        Fiber.Sleep(TimeSpan.FromMilliseconds(20));
        return true;
    }

    private static Setup EventWait()
    {
        var ev = new FiberEvent();
        return new Setup(() => After(ev.Wait()), ev.Set);
    }

    private static Setup QueueGet()
    {
        var q = new FiberQueue<int>();
        return new Setup(() => After(q.Get() == 1), () => q.Put(1));
    }

    private static Setup Sleep() => new(() => After(Sleep20()), () => { });

    private static Setup Join()
    {
        var ev = new FiberEvent();
        Fiber other = Fiber.Spawn(() => ev.Wait());
        return new Setup(() => After(other.Join()), ev.Set);
    }

    private static Setup SocketReceive()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        var server = new FiberSocket(listener.Accept());
        return new Setup(() =>
        {
            Span<byte> b = stackalloc byte[1];
            After(server.Receive(b) == 1);
            server.Dispose();
        }, () =>
        {
            client.Send([1]);
            client.Dispose();
        });
    }
}
