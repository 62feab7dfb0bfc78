using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>
/// What <c>dotnet-trace collect --profile cpu-sampling</c> sees of suspended fibers: the sample profiler walks every
/// managed thread, and the hub's identity threads carry the parked fibers' frames, so their samples must show the
/// fibers' own methods. The trace is written to a file and opened with TraceLog, which resolves the sampled stacks to
/// method names from the runtime's JIT and rundown events.
/// </summary>
[Collection(EventPipeCollection.Name)]
public sealed class SampleProfilerTests(ITestOutputHelper output)
{
    // the methods the child's fibers suspend in (tests/FiberRuntime.TestHost/DiagnosticsScenarios.cs)
    private static readonly string[] Markers = ["DiagnosticsScenarios.InCatch", "DiagnosticsScenarios.Deep", "DiagnosticsScenarios.Plain"];

    [Fact]
    public async Task The_sample_profiler_sees_2000_suspended_fibers_frames_on_the_identity_threads_while_they_switch_without_harm()
    {
        string dir = Directory.CreateTempSubdirectory("fiberrt-profile").FullName;
        string nettrace = Path.Combine(dir, "profile.nettrace");
        try
        {
            using var child = new ChildHost("profile --fibers 2000 --seconds 3 --min-rounds 10");
            child.WaitForLine("ready");
            EventPipeSession session = new DiagnosticsClient(child.Pid).StartEventPipeSession(
            [
                new EventPipeProvider("Microsoft-DotNETCore-SampleProfiler", EventLevel.Informational),
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, 0x14C14FCCBD),   // dotnet-trace's cpu-sampling profile
                new EventPipeProvider("FiberRuntime", EventLevel.Informational, 0),
            ], requestRundown: true);
            Task copy;
            await using (var file = File.Create(nettrace))
            {
                copy = session.EventStream.CopyToAsync(file);
                child.Send("go");
                string lanesLine = child.WaitForLine("lanes ", TimeSpan.FromMinutes(1));
                string verdict = child.WaitForLine("PROFILE:", TimeSpan.FromMinutes(3));
                session.Stop();                                 // the rundown (method names) comes now
                await copy.WaitAsync(TimeSpan.FromMinutes(2));  // the trace stream ends after the session stopped
                int exit = child.Exit();
                output.WriteLine(child.Output);
                Assert.StartsWith("PROFILE: PASS", verdict);     // every fiber >= 10 rounds, every check held
                Assert.Equal(0, exit);

                int[] lanes = lanesLine["lanes ".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
                Assert.NotEmpty(lanes);
                await file.DisposeAsync();
                AssertSamples(nettrace, dir, lanes);
            }
            session.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private void AssertSamples(string nettrace, string dir, int[] lanes)
    {
        string etlx = TraceLog.CreateFromEventPipeDataFile(nettrace, Path.Combine(dir, "profile.etlx"));
        using var log = new TraceLog(etlx);
        int samples = 0, onLanes = 0, spawns = 0;
        var markerSamples = Markers.ToDictionary(m => m, _ => 0);
        int otherThreadsWithMarkers = 0;
        foreach (TraceEvent e in log.Events)
        {
            if (e.ProviderName == "FiberRuntime" && e.EventName == "FiberSpawn" && e.PayloadByName("Kind") as string == "fiber") spawns++;
            if (e.ProviderName != "Microsoft-DotNETCore-SampleProfiler") continue;
            samples++;
            var names = new List<string>();
            for (TraceCallStack? frame = e.CallStack(); frame is not null; frame = frame.Caller) names.Add(frame.CodeAddress.FullMethodName);
            string[] seen = Markers.Where(m => names.Any(n => n.Contains(m, StringComparison.Ordinal))).ToArray();
            if (lanes.Contains(e.ThreadID))
            {
                onLanes++;
                foreach (string m in seen) markerSamples[m]++;
            }
            else if (seen.Length > 0) otherThreadsWithMarkers++;
        }
        output.WriteLine($"{samples} samples, {onLanes} on the identity threads ({string.Join(", ", lanes)}); with markers there: " +
                         string.Join(", ", markerSamples.Select(kv => $"{kv.Key}={kv.Value}")) + $"; markers on other threads: {otherThreadsWithMarkers}; spawns {spawns}");
        Assert.True(onLanes > 0, "no sample was taken on an identity thread");
        // each kind of suspended fiber — in a catch block, at the bottom of a deep chain, plain — shows up where it is
        // parked (EventPipe keeps the first 100 frames of a stack: a lane's sample shows the first fibers of its chain)
        Assert.All(markerSamples, kv => Assert.True(kv.Value > 0, $"no sample on an identity thread shows {kv.Key}"));
        Assert.Equal(2000, spawns);
    }
}
