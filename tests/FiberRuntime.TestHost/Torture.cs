using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>
/// The GC torture: <see cref="Options.Fibers"/> fibers run the scenario's body, each suspending round after round
/// with its data on its stack while GCs are forced (by the hub itself or by an external thread). Every switch goes
/// through <see cref="Yield"/>, which keeps the <see cref="GcLedger"/> (how many fibers were parked at each GC) and
/// checks a per-switch witness: an object that only this frame and a strong table refer to, fresh at every switch,
/// so a GC during the suspension moves it and the frame must see the new address.
/// </summary>
internal sealed partial class Torture
{
    private readonly Options o;
    public readonly GcLedger Ledger;
    public long Switches, Checks, ForcedGcs, ExternalGcs, RoundsCompleted, Moved;
    /// <summary>The hub's switches that entered cooperative mode through the switch callback (not the fast path).</summary>
    public long CallbackSwitches = -1, HubSwitches = -1;
    public int Errors;
    private Greenlet[] _fibers = [];
    private readonly object?[] _witness;
    private Greenlet _root = null!;
    private volatile bool _stopGcThread;
    private long _externalAt;           // the switch count at which the external thread's last GC started

    public Torture(Options options)
    {
        o = options;
        Ledger = new GcLedger(options.ParkedThreshold);
        _witness = new object?[options.Fibers];
        _anchors = options.Scenario == "quiet" ? new Cell[options.Fibers * QuietCells] : [];
    }

    public void Run()
    {
        Thread? gcThread = null;
        if (o.GcThread)
        {
            gcThread = new Thread(ExternalCollector) { IsBackground = true, Name = "external GC" };
            gcThread.Start();
        }
        var options = new HubOptions { MaxFibers = o.Fibers + 8, UnsafeDisableGcProtection = o.Unprotected };
        Hub.Run(() =>
        {
            Schedule();
            Interop.NativeMethods.HubStats stats = Hub.Current!.GetStats();
            (HubSwitches, CallbackSwitches) = ((long)stats.Switches, (long)stats.CallbackSwitches);
        }, options);
        _stopGcThread = true;
        gcThread?.Join();
    }

    private void Collect()
    {
        if (o.Sweep) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        else GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Forces GCs from another thread at arbitrary points of the hub's work, one each time the hub has made
    /// --gc-every more switches: back-to-back GCs would starve the hub thread (it must reach a safe point for each,
    /// and each walks every suspended stack) and make the run's length a matter of luck. The hub waits for this thread
    /// when it gets two periods ahead (<see cref="PaceExternalCollector"/>), so a starved collector on a loaded machine
    /// cannot leave the run without GCs.</summary>
    private void ExternalCollector()
    {
        var rnd = new Random(5);
        var hold = new object[64];
        long seen = -1;
        while (!_stopGcThread)
        {
            long now = Volatile.Read(ref Switches);
            if (seen >= 0 && now < seen + Math.Max(1, o.GcEvery))
            {
                Thread.Yield();
                continue;
            }
            seen = now;
            for (int i = 0; i < 2000; i++) hold[rnd.Next(64)] = new byte[rnd.Next(16, 400)];
            Collect();
            Interlocked.Increment(ref ExternalGcs);
            Volatile.Write(ref _externalAt, seen);
        }
    }

    private void Schedule()
    {
        _root = Greenlet.Current!;
        if (o.Scheduled)
        {
            // fibers on the hub's scheduler: spawned into its run queue, yielding through the hub loop. A first wave
            // that ends before them leaves idle contexts (Hub.IdleContexts.cs): the first fibers run on reused
            // contexts, and contexts go idle again as fibers end while the others are still collected under
            Fiber.JoinAll(Enumerable.Range(0, 32).Select(w => Fiber.Spawn(() =>
            {
                var junk = new List<int[]>();
                for (int k = 0; k < 4; k++)
                {
                    junk.Add(new int[8 + k + w]);
                    Fiber.Yield();
                }
                GC.KeepAlive(junk);
            })).ToList());
            var spawned = new Fiber[o.Fibers];
            for (int i = 0; i < o.Fibers; i++)
            {
                int id = i;
                spawned[i] = Fiber.Spawn(() => Body(id));
            }
            Fiber.JoinAll(spawned);
            foreach (Fiber f in spawned)
                if (!f.IsSuccessful) Fail($"{f} failed: {f.Exception}");
            return;
        }
        _fibers = new Greenlet[o.Fibers];
        for (int i = 0; i < o.Fibers; i++)
        {
            int id = i;
            _fibers[i] = new Greenlet(() => Body(id));
        }
        if (o.Ring)
        {
            // fibers switch directly to each other; the root only starts the ring and collects the end
            _fibers[0].Switch();
            while (_fibers.Any(f => !f.IsDead)) _fibers.First(f => !f.IsDead).Switch();
            return;
        }
        int alive = o.Fibers;
        while (alive > 0)
        {
            alive = 0;
            foreach (Greenlet f in _fibers)
            {
                if (f.IsDead) continue;
                f.Switch();
                if (!f.IsDead) alive++;
            }
        }
    }

    private void Body(int id)
    {
        try
        {
            switch (o.Scenario)
            {
                case "stress": StressBody(id); break;
                case "exceptions": ExceptionBody(id); break;
                default: QuietBody(id); break;
            }
        }
        catch (Exception e) when (e is not GreenletExit)
        {
            // The bodies throw only what they catch themselves, so an exception escaping one is control flow gone
            // astray: a stale reference read as the wrong type (InvalidCast, IndexOutOfRange, NullReference...). Report
            // it as the corruption it is, instead of letting it abort the process as an unhandled exception of any type.
            Fail($"fiber {id}: {e.GetType().FullName} escaped its body (the stress throws none): {e.Message}");
        }
    }

    // ---- switching ----

    /// <summary>Where an object is now. Not inlined: inlined, the JIT may reuse the address it read before the switch,
    /// as if a reference could not change across a call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint AddressOf(object o) => Unsafe.As<object, nint>(ref o);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Yield(int id)
    {
        Switches++;
        if (o.GcThread) PaceExternalCollector();
        else if (o.GcEvery > 0 && Switches % o.GcEvery == 0)
        {
            Ledger.Observe();
            Collect();
            ForcedGcs++;
            Ledger.Observe();
        }
        object witness = new Witness(id, Switches);
        _witness[id] = witness;
        nint before = AddressOf(witness);
        Ledger.Park();
        Switch(id);
        Ledger.Unpark();
        if (AddressOf(witness) != before) Moved++;
        Checks++;
        if (!ReferenceEquals(witness, _witness[id])) Fail($"fiber {id}: the witness on its stack is not the object the table holds (a stale reference)");
    }

    private void PaceExternalCollector()
    {
        while (o.GcEvery > 0 && Switches - Volatile.Read(ref _externalAt) > 2L * o.GcEvery) Thread.Yield();
    }

    private void Switch(int id)
    {
        if (o.Scheduled)
        {
            Fiber.Yield();
            return;
        }
        if (!o.Ring)
        {
            _root.Switch();
            return;
        }
        for (int k = 1; k <= _fibers.Length; k++)
        {
            Greenlet next = _fibers[(id + k) % _fibers.Length];
            if (!next.IsDead && !ReferenceEquals(next, Greenlet.Current))
            {
                next.Switch();
                return;
            }
        }
    }

    private sealed class Witness(int id, long at)
    {
        public readonly int Id = id;
        public readonly long At = at;
    }

    /// <summary>Called at the first mismatch with the stats so far; prints the verdict and ends the process at once.</summary>
    public Action<Torture>? OnCorruption;

    /// <summary>The first mismatch ends the run: with the protection broken, whatever runs next (another switch, a GC
    /// over stale references) may crash and hide the verdict that the checksums already reached.</summary>
    private void Fail(string what)
    {
        Errors++;
        Console.WriteLine("MISMATCH: " + what);
        OnCorruption?.Invoke(this);
    }

    private void Expect(bool ok, string what)
    {
        Checks++;
        if (!ok) Fail(what);
    }
}
