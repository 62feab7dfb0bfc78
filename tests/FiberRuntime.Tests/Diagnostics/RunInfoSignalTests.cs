using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using FiberRuntime.Diagnostics;

namespace FiberRuntime.Tests.Diagnostics;

/// <summary>RunInfo.EnableSignal called by the application (not through FIBERRUNTIME_RUNINFO_SIGNAL).</summary>
public sealed class RunInfoSignalTests
{
    // SIGWINCH: its default action is to ignore it, so a signal that arrives after the registration is gone is harmless
    private const PosixSignal Sigwinch = (PosixSignal)28;

    /// <summary>A writer that tests can read while the signal handler's thread writes to it.</summary>
    private sealed class SharedWriter : StringWriter
    {
        public string Text
        {
            get { lock (this) return ToString(); }
        }

        public override void Write(string? value)
        {
            lock (this) base.Write(value);
        }

        public override void Write(char value)
        {
            lock (this) base.Write(value);
        }
    }

    private static void Signal(PosixSignal signal)
    {
        using Process kill = Process.Start("kill", [$"-{(int)signal}", Environment.ProcessId.ToString()])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    [Fact]
    public void The_registered_signal_writes_the_dump_to_the_given_writer_until_disposed()
    {
        var writer = new SharedWriter();
        Hub.Run(() =>
        {
            var stop = new FiberEvent();
            Fiber parked = Fiber.Spawn(() => stop.Wait());
            parked.Name = "parked for the signal test";
            Fiber.Yield();
            using (RunInfo.EnableSignal(Sigwinch, writer))
            {
                Signal(Sigwinch);
                var sw = Stopwatch.StartNew();
                // the dump is taken on a thread-pool thread and asks this hub for its snapshot: keep the hub turning
                while (!writer.Text.Contains("parked for the signal test", StringComparison.Ordinal) && sw.Elapsed < TimeSpan.FromSeconds(30))
                    Fiber.Sleep(0.02);
            }
            string dump = writer.Text;
            Assert.Contains("FiberRuntime run info: process " + Environment.ProcessId, dump);
            Assert.Contains($"#{parked.Id} parked for the signal test", dump);
            Assert.Contains("FiberEvent.Wait", dump);

            // disposed: the signal no longer dumps (and, SIGWINCH being ignored by default, does nothing)
            int length = dump.Length;
            Signal(Sigwinch);
            Fiber.Sleep(0.5);
            Assert.Equal(length, writer.Text.Length);
            stop.Set();
            parked.Join();
        });
    }
}
