using System.Runtime.CompilerServices;

namespace FiberRuntime.TestHost;

/// <summary>Unbounded recursion on a fiber: must hit the slot's guard page and die as a stack overflow.
/// --protection-guards: the guard is a PROT_NONE mapping (the pre-6.13 kernel path), not a guard marker.
/// A few fibers are parked first so that the overflowing one's slot lies above other slots' stacks.</summary>
internal static class Overflow
{
    public static int Run(string[] args)
    {
        Hub.Run(() =>
        {
            var parked = Enumerable.Range(0, 3).Select(_ => new Greenlet(() => Greenlet.Current!.Parent!.Switch())).ToList();
            parked.ForEach(g => g.Switch());
            Console.WriteLine($"guard markers: {Hub.Current!.GetStats().GuardMarkers}");
            new Greenlet(() => Console.WriteLine(Recursion.Deep(0))).Switch();
        }, new HubOptions { ProtectionGuardPages = args.Contains("--protection-guards") });
        Console.WriteLine("UNREACHABLE: the recursion returned");
        return 0;
    }
}
