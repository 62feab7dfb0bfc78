using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using FiberRuntime.IO;
using Microsoft.Win32.SafeHandles;

namespace FiberRuntime.TestHost;

/// <summary>
/// Resource exhaustion, each in its own process because it lowers a process limit (issue 12). Usage:
/// <c>fault &lt;emfile-accept|nofile-hub|address-space&gt;</c>. Each prints what it saw and <c>VERDICT: PASS|FAIL</c>.
/// </summary>
internal static partial class FaultScenarios
{
    private const int RLIMIT_NOFILE = 7, RLIMIT_AS = 9;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current, Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    public static int Run(string[] args) => args.ElementAtOrDefault(1) switch
    {
        "emfile-accept" => EmfileAtAccept(),
        "nofile-hub" => NoDescriptorsForAHub(),
        "address-space" => NoAddressSpaceForStacks(),
        "connect-cycles" => ConnectCycles((int)SoakScenarios.Arg(args, "--n", 10_000)),
        _ => throw new ArgumentException("fault emfile-accept|nofile-hub|address-space|connect-cycles"),
    };

    internal static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>Open descriptors other than the runtime's mappings of assemblies and native libraries (the JIT loads
    /// some lazily, e.g. when a hot method is recompiled at tier 1): sockets, pipes, epoll and event descriptors.</summary>
    internal static int NonAssemblyDescriptors() =>
        Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget is not { } target ||
                                                        !(target.EndsWith(".dll", StringComparison.Ordinal) || target.Contains(".so", StringComparison.Ordinal)));

    /// <summary>Lowers the soft descriptor limit to what is open now plus <paramref name="headroom"/>, then opens
    /// /dev/null until the limit is hit: afterwards no descriptor is free until the fillers are disposed.</summary>
    private static List<SafeFileHandle> ExhaustDescriptors(int headroom)
    {
        getrlimit(RLIMIT_NOFILE, out RLimit r);
        var lowered = new RLimit { Current = (ulong)(OpenDescriptors() + headroom), Maximum = r.Maximum };
        if (setrlimit(RLIMIT_NOFILE, lowered) != 0) throw new InvalidOperationException($"setrlimit failed ({Marshal.GetLastPInvokeError()})");
        var fillers = new List<SafeFileHandle>();
        try
        {
            while (fillers.Count < 100_000) fillers.Add(File.OpenHandle("/dev/null"));
        }
        catch (IOException)
        {
            // EMFILE: the table is full
        }
        return fillers;
    }

    /// <summary>A server whose accept hits EMFILE keeps serving once descriptors are free again: clients connect
    /// while no descriptor is free (the kernel completes the handshake into the backlog), the accept loop fails and
    /// backs off; the fillers are closed; every client then gets its echo.</summary>
    private static int EmfileAtAccept()
    {
        const int clients = 5;
        string result = Hub.Run(() =>
        {
            using var server = new StreamServer(new IPEndPoint(IPAddress.Loopback, 0), (conn, _) =>
            {
                var buf = new byte[64];
                int n = conn.Receive(buf);
                conn.SendAll(buf.AsSpan(0, n));
            });
            server.Start();
            var endPoint = server.LocalEndPoint;
            // one round trip first: the socket stack's lazy initialisation (telemetry, ...) needs descriptors of its own
            using (var warm = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                warm.Connect(endPoint, TimeSpan.FromSeconds(10));
                warm.SendAll("warm"u8);
                warm.Receive(new byte[16], timeout: TimeSpan.FromSeconds(10));
            }
            // the client sockets exist before the table fills: connecting needs no new descriptor
            var sockets = Enumerable.Range(0, clients).Select(_ => new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToList();
            Console.Error.Flush();                  // opened now: reports still reach it while no descriptor is free
            List<SafeFileHandle> fillers = ExhaustDescriptors(headroom: 16);
            var echoes = new string?[clients];
            var fibers = Enumerable.Range(0, clients).Select(i => Fiber.Spawn(() =>
            {
                FiberSocket s = sockets[i];
                s.Connect(endPoint, TimeSpan.FromSeconds(10));
                s.SendAll(Encoding.ASCII.GetBytes("ping" + i));
                var buf = new byte[64];
                int n = s.Receive(buf, timeout: TimeSpan.FromSeconds(20));
                echoes[i] = Encoding.ASCII.GetString(buf, 0, n);
                s.Dispose();
            })).ToList();
            Fiber.Sleep(0.3);
            long failuresWhileFull = server.AcceptFailures;
            bool servingWhileFull = server.IsStarted;
            int filled = fillers.Count;
            fillers.ForEach(f => f.Dispose());
            Fiber.JoinAll(fibers, TimeSpan.FromSeconds(30));
            int echoed = Enumerable.Range(0, clients).Count(i => echoes[i] == "ping" + i);
            string failed = string.Join("; ", fibers.Where(f => f.Exception is not null).Select(f => f.Exception!.Message));
            return $"EMFILE fillers={filled} accept_failures_while_full={failuresWhileFull} serving_while_full={servingWhileFull} echoed={echoed}/{clients} errors=[{failed}]" +
                   (failuresWhileFull > 0 && servingWhileFull && echoed == clients ? " OK" : "");
        });
        return SoakScenarios.Verdict(result.EndsWith(" OK", StringComparison.Ordinal), result);
    }

    /// <summary>No descriptor left for a new hub's epoll instance: Hub.Run throws naming RLIMIT_NOFILE; once
    /// descriptors are free a hub runs again.</summary>
    private static int NoDescriptorsForAHub()
    {
        Hub.Run(() => Fiber.Spawn(() => { }).Join());      // the runtime, its threads and the layout check are set up
        List<SafeFileHandle> fillers = ExhaustDescriptors(headroom: 8);
        Exception? e = Record(() => Hub.Run(() => { }));
        int filled = fillers.Count;
        fillers.ForEach(f => f.Dispose());
        int after = Hub.Run(() => Fiber.Spawn(() => 42).Get());
        bool named = e is InvalidOperationException && e.Message.Contains("RLIMIT_NOFILE", StringComparison.Ordinal);
        return SoakScenarios.Verdict(named && after == 42,
            $"NOFILE fillers={filled} exception={e?.GetType().Name}: {e?.Message} | hub afterwards: {after}");
    }

    /// <summary>The stack reservation fails under RLIMIT_AS: Hub.Run throws OutOfMemoryException naming the limit;
    /// a hub with a smaller reservation still runs.</summary>
    private static int NoAddressSpaceForStacks()
    {
        Hub.Run(() => Fiber.Spawn(() => { }).Join());
        long vmSize = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmSize:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).First();
        getrlimit(RLIMIT_AS, out RLimit r);
        var lowered = new RLimit { Current = (ulong)(vmSize + (1L << 30)), Maximum = r.Maximum };
        if (setrlimit(RLIMIT_AS, lowered) != 0) throw new InvalidOperationException($"setrlimit failed ({Marshal.GetLastPInvokeError()})");
        // 100 000 x 256 KiB = 24 GiB of address space: over the limit
        Exception? e = Record(() => Hub.Run(() => { }, new HubOptions { MaxFibers = 100_000 }));
        int after = Hub.Run(() => Fiber.Spawn(() => 7).Get(), new HubOptions { MaxFibers = 64 });
        bool named = e is OutOfMemoryException && e.Message.Contains("RLIMIT_AS", StringComparison.Ordinal);
        return SoakScenarios.Verdict(named && after == 7, $"RLIMIT_AS vm_size_mib={vmSize >> 20} exception={e?.GetType().Name}: {e?.Message} | small hub afterwards: {after}");
    }

    /// <summary>n connect / send / close cycles against a server that reads to the end and closes: afterwards the
    /// process has as many descriptors open and the hub as many live fibers as before (the accept loop in both).</summary>
    private static int ConnectCycles(int n)
    {
        string result = Hub.Run(() =>
        {
            using var listener = new FiberTcpListener(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Start();
            var handlers = new FiberGroup();
            long handled = 0;
            Fiber acceptor = Fiber.Spawn(() =>
            {
                while (true)
                {
                    FiberSocket c = listener.Accept();
                    handlers.Spawn(() =>
                    {
                        using (c)
                        {
                            var buf = new byte[16];
                            while (c.Receive(buf) > 0) { }
                        }
                        handled++;
                    });
                }
            });
            void Cycles(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    using var s = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    s.Connect(listener.LocalEndPoint, TimeSpan.FromSeconds(10));
                    s.SendAll("x"u8);
                }
                handlers.Join(TimeSpan.FromSeconds(30));
                Fiber.Sleep(0.01);
            }
            Cycles(20);                                       // warm: sockets, telemetry, the loop context
            var fdSetBefore = Directory.GetFiles("/proc/self/fd").Select(fd => fd + " -> " + new FileInfo(fd).LinkTarget).ToHashSet();
            int fdBefore = NonAssemblyDescriptors();
            uint liveBefore = Hub.Current!.GetStats().LiveContexts;
            long handledBefore = handled;
            Cycles(n);
            int fdAfter = NonAssemblyDescriptors();
            if (fdAfter != fdBefore && Environment.GetEnvironmentVariable("FAULT_FD_DUMP") == "1")
                foreach (string fd in Directory.GetFiles("/proc/self/fd").Select(fd => fd + " -> " + new FileInfo(fd).LinkTarget).Where(f => !fdSetBefore.Contains(f))) Console.WriteLine("new: " + fd);
            uint liveAfter = Hub.Current!.GetStats().LiveContexts;
            acceptor.Kill();
            long cycles = handled - handledBefore;
            return $"CYCLES n={cycles} non_assembly_fds_before={fdBefore} non_assembly_fds_after={fdAfter} live_contexts_before={liveBefore} live_contexts_after={liveAfter}" +
                   (cycles == n && fdAfter == fdBefore && liveAfter == liveBefore ? " OK" : "");
        });
        return SoakScenarios.Verdict(result.EndsWith(" OK", StringComparison.Ordinal), result);
    }

    private static Exception? Record(Action a)
    {
        try
        {
            a();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
