using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace FiberRuntime.Tests.Scheduling;

/// <summary>Runs each sample in samples/ as a child process (<c>dotnet samples/&lt;Name&gt;/bin/&lt;cfg&gt;/net10.0/&lt;Name&gt;.dll</c>)
/// and checks its output. A sample that was not built yet (e.g. <c>dotnet test tests/FiberRuntime.Tests</c>, which does
/// not build the solution) is built once with <c>dotnet build samples/&lt;Name&gt; -c &lt;cfg&gt;</c>.</summary>
public class SamplesTests(ITestOutputHelper output)
{
    private static readonly Lock s_buildLock = new();

    [Fact]
    public void Synchronous_prints_the_tutorials_output()
    {
        string[] lines = RunSample("Synchronous");
        string[] expected =
        [
            "Running in foo",
            "Explicit context to bar",
            "Explicit context switch to foo again",
            "Implicit context switch back to bar",
            "foo and bar together took about one sleep: yes",
            "Synchronous:",
            .. Enumerable.Range(1, 9).Select(i => $"Task {i} done"),
            "Asynchronous:",
            // delays 0/50/100 ms from Random(2024): 0 → tasks 0, 4, 5; 50 → 2, 3, 8, 9; 100 → 1, 6, 7
            .. new[] { 0, 4, 5, 2, 3, 8, 9, 1, 6, 7 }.Select(i => $"Task {i} done"),
        ];
        Assert.Equal(expected, lines);
    }

    [Fact]
    public void Greenlets_prints_the_tutorials_output()
    {
        string[] lines = RunSample("Greenlets");
        Assert.Equal(
        [
            "producer sends apple",
            "consumer got apple",
            "producer sends banana",
            "consumer got banana",
            "producer sends cherry",
            "consumer got cherry",
            "consumer done after 3 items",
            "a.....",
            "b.....",
            "a....2",
            "b....2",
            "A and B are dead: True True",
        ], lines);
    }

    [Fact]
    public void Events_prints_the_tutorials_output()
    {
        Assert.Equal(
        [
            "A: Hey wait for me, I have to do something",
            "I'll wait for you",
            "I'll wait for you",
            "Ok, I'm done",
            "It's about time",
            "It's about time",
            "Hello!",
        ], RunSample("Events"));
    }

    [Fact]
    public void Queues_prints_the_tutorials_output()
    {
        string[] workers = ["steve", "john", "nancy"];
        string[] bounded = ["steve", "john", "bob"];
        Assert.Equal(
        [
            // the boss puts 24 tasks without waiting; three workers take turns (Sleep(0) sends each to the back)
            .. Enumerable.Range(1, 24).Select(i => $"Worker {workers[(i - 1) % 3]} got task {i}"),
            "Quitting time!", "Quitting time!", "Quitting time!",
            // maxsize 3: the boss blocks while the queue is full, so its messages interleave with the workers'
            .. Enumerable.Range(1, 6).Select(i => $"Worker {bounded[(i - 1) % 3]} got task {i}"),
            "Assigned all work in iteration 1",
            .. Enumerable.Range(7, 12).Select(i => $"Worker {bounded[(i - 1) % 3]} got task {i}"),
            "Assigned all work in iteration 2",
            "Worker steve got task 19",
            "Quitting time!", "Quitting time!", "Quitting time!",
        ], RunSample("Queues"));
    }

    [Fact]
    public void Groups_prints_the_tutorials_output()
    {
        Assert.Equal(
        [
            "bar", "bar", "bar", "foo", "foo", "foo", "fizz", "fizz", "fizz",
            // a finished fiber leaves its group at once (gevent counts it until the group notices: 3, 3, 3)
            "Size of group 3", "Hello from a fiber of the group",
            "Size of group 2", "Hello from a fiber of the group",
            "Size of group 1", "Hello from a fiber of the group",
            "Map returned [0, 1, 2]",
            "Ordered", "(task, 0)", "(task, 1)", "(task, 2)",
            "Unordered", "(task, 2)", "(task, 1)", "(task, 0)",
            "Imap over 20 items with maxSize 3: at most 3 ran at once",
            "FiberPool(10) ran 20 fibers, at most 10 at once",
        ], RunSample("Groups"));
    }

    /// <summary>The compiled dll of samples/<paramref name="name"/>, built once (same configuration as the tests)
    /// when it is missing.</summary>
    internal string SampleDll(string name)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);           // tests/FiberRuntime.Tests/bin/<cfg>/<tfm>/
        string tfm = here.Name, configuration = here.Parent!.Name;
        DirectoryInfo root = here.Parent.Parent!.Parent!.Parent!.Parent!; // the repository
        string project = Path.Combine(root.FullName, "samples", name);
        string dll = Path.Combine(project, "bin", configuration, tfm, name + ".dll");
        lock (s_buildLock)
        {
            if (!File.Exists(dll))
            {
                (int code, string text) = Run(["build", project, "-c", configuration, "--nologo", "-v", "q"], TimeSpan.FromMinutes(5));
                Assert.True(code == 0, $"dotnet build {project} failed:\n{text}");
            }
        }
        Assert.True(File.Exists(dll), $"{dll} is missing after the build");
        return dll;
    }

    private string[] RunSample(string name)
    {
        string dll = SampleDll(name);
        (int exit, string stdout) = Run([dll], TimeSpan.FromMinutes(1));
        output.WriteLine(stdout);
        Assert.Equal(0, exit);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
    }

    /// <summary>Runs the dotnet host; returns its exit code and standard output (standard error goes to the test log
    /// and fails the run only through the exit code).</summary>
    internal (int ExitCode, string Output) Run(string[] arguments, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(ProcessRun.DotnetHost());
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        ProcessRun run = ProcessRun.Run(psi, timeout);
        if (run.TimedOut) Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish within {timeout}");
        if (run.Stderr.Length > 0) output.WriteLine("stderr:\n" + run.Stderr);
        return (run.ExitCode, run.Stdout);
    }
}
