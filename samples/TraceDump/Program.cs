// Lists the FiberRuntime events of a trace written by dotnet-trace, one line each, then how many of each there were.
//   dotnet run --project samples/TraceDump -- <file.nettrace> [--max N] [--all]
// --max N: show at most N events (default 40; the counts cover all of them). --all: count every provider's events.
using Microsoft.Diagnostics.Tracing;

if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: TraceDump <file.nettrace> [--max N] [--all]");
    return 2;
}
int maxAt = Array.IndexOf(args, "--max");
int max = maxAt > 0 && maxAt + 1 < args.Length ? int.Parse(args[maxAt + 1]) : 40;
bool all = args.Contains("--all");

using var source = new EventPipeEventSource(args[0]);
var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
int shown = 0;
source.Dynamic.All += e =>
{
    if (e.ProviderName != "FiberRuntime") return;
    counts[e.EventName] = counts.GetValueOrDefault(e.EventName) + 1;
    if (e.EventName == "EventCounters" || shown++ >= max) return;
    var fields = Enumerable.Range(0, e.PayloadNames.Length).Select(i => $"{e.PayloadNames[i]}={Short(e.PayloadValue(i))}");
    Console.WriteLine($"{e.TimeStampRelativeMSec,10:F3} ms  {e.EventName,-24} {string.Join(" ", fields)}");
};
if (all)
{
    source.AllEvents += e =>
    {
        string key = e.ProviderName + "/" + e.EventName;
        counts[key] = counts.GetValueOrDefault(key) + 1;
    };
}
source.Process();
Console.WriteLine("--- FiberRuntime events in the trace ---");
foreach ((string name, int n) in counts) Console.WriteLine($"{name,-24} {n}");
return 0;

static string Short(object? value)
{
    string s = (value?.ToString() ?? "").Replace("\n", "\\n");
    return s.Length > 70 ? s[..70] + "..." : s.Contains(' ') ? $"\"{s}\"" : s;
}
