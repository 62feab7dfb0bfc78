// FiberRuntime.TestHost: the child process of the GC stress suite and the diagnostics tests. Each scenario runs in
// its own process because the GC flavour, tiering and the negative control are per-process settings. The torture
// scenarios end with one verdict line (see Options.Usage, printed by --help):
//   VERDICT: PASS ...         every check held and the run exercised what it claims (exit 0)
//   VERDICT: CORRUPTION ...   a checksum or reference changed across a switch, or rounds went missing (exit 3)
//   VERDICT: UNEXERCISED ...  the checks held but the run missed a requirement, e.g. no GC with the fibers parked (exit 5)
// A broken protection usually does not get as far as a verdict: the process dies in the GC (SIGSEGV) or the runtime
// aborts on a fatal error (SIGABRT).
using FiberRuntime;
using FiberRuntime.TestHost;

switch (args.FirstOrDefault())
{
    case null or "--help" or "-h" or "help":
        Console.WriteLine(Options.Usage);
        return args.Length == 0 ? 2 : 0;
    case "smoke":
        // one greenlet round trip; used with a perturbed runtime layout to check start-up refusal
        try
        {
            using var verification = new VerificationListener();
            Console.WriteLine("result " + Hub.Run(() => new Greenlet(x => (int)x! + 1).Switch(41)));
            Console.WriteLine("runtime: " + FiberRuntime.Interop.RuntimeContract.Note);
            Console.WriteLine("event RuntimeVerified: " + verification.Note);
            return 0;
        }
        catch (PlatformNotSupportedException e)
        {
            Console.WriteLine("REFUSED: " + e.Message);
            return 4;
        }
    case "gcpause":
        return GcPause.Run(args);
    case "stack":
        return StackScenarios.Run(args);
    case "soak":
        return SoakScenarios.Run(args);
    case "fault":
        return FaultScenarios.Run(args);
    case "hijack":
        return HijackScenarios.Run(args);
    case "events":
        return DiagnosticsScenarios.Events(args);
    case "threads":
        return DiagnosticsScenarios.Threads(args);
    case "profile":
        return DiagnosticsScenarios.Profile(args);
    case "overflow":
        return Overflow.Run(args);
    case "frames":
        return ParkedFrames.Run(args);
    case "suite":
        return StressSuite.Command(args);
}

try
{
    return Verdict.Run(Options.Parse(args));
}
catch (UsageException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
