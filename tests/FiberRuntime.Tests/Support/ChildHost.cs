using System.Diagnostics;
using System.Text;

namespace FiberRuntime.Tests;

/// <summary>A FiberRuntime.TestHost child process driven line by line: it prints "ready", waits for "go", prints its
/// results, and waits for "exit" (see tests/FiberRuntime.TestHost/DiagnosticsScenarios.cs). Every wait is bounded;
/// disposing kills the child if it is still running.</summary>
internal sealed class ChildHost : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lines = new(0);

    public ChildHost(string arguments, params string[] environment)
    {
        var psi = new ProcessStartInfo(ProcessRun.DotnetHost(), $"\"{HostRun.HostAssembly()}\" {arguments}")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_EnableCrashReport"] = "0";
        foreach (string kv in environment)
        {
            int eq = kv.IndexOf('=');
            psi.Environment[kv[..eq]] = kv[(eq + 1)..];
        }
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.Add(e.Data);
            _lines.Release();
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
            _lines.Release();
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public string StandardError
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public string Output
    {
        get { lock (_stdout) return string.Join('\n', _stdout) + "\n--- stderr ---\n" + StandardError; }
    }

    /// <summary>Waits for a standard-output line starting with <paramref name="prefix"/> and returns it.</summary>
    public string WaitForLine(string prefix, TimeSpan? timeout = null) =>
        WaitUntil(() =>
        {
            lock (_stdout) return _stdout.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        }, timeout, $"a line starting with '{prefix}'");

    /// <summary>Waits until <paramref name="text"/> appears on standard error.</summary>
    public void WaitForError(string text, TimeSpan? timeout = null) =>
        WaitUntil(() => StandardError.Contains(text, StringComparison.Ordinal) ? text : null, timeout, $"'{text}' on standard error");

    private T WaitUntil<T>(Func<T?> found, TimeSpan? timeout, string what) where T : class
    {
        var limit = Stopwatch.StartNew();
        TimeSpan max = timeout ?? TimeSpan.FromSeconds(60);
        while (true)
        {
            if (found() is { } result) return result;
            if (_process.HasExited && found() is null)
                throw new InvalidOperationException($"the child exited ({_process.ExitCode}) before {what}:\n{Output}");
            if (limit.Elapsed > max) throw new TimeoutException($"no {what} within {max}:\n{Output}");
            _lines.Wait(TimeSpan.FromMilliseconds(200));
        }
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Sends "exit" and waits for the child to end; returns its exit code (-1 if it had to be killed).</summary>
    public int Exit(TimeSpan? timeout = null)
    {
        Send("exit");
        if (!_process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            _process.Kill(entireProcessTree: true);
            return -1;
        }
        _process.WaitForExit();         // drains the output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
