using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace FiberRuntime.Diagnostics;

/// <summary>A greenlet's diagnostic extras, allocated only when one is used: its name, and the stacks captured when
/// <see cref="HubOptions.CaptureSpawnSites"/> / <see cref="HubOptions.CaptureWaitStacks"/> are on.</summary>
internal sealed class GreenletDiagnostics
{
    private static readonly string s_self = typeof(Hub).Assembly.GetName().Name!;
    private static readonly string[] s_plumbing =
    [
        "FiberRuntime.Hub", "FiberRuntime.Greenlet", "FiberRuntime.Fiber", "FiberRuntime.Fiber`1",
        "FiberRuntime.Scheduling.Scheduler", "FiberRuntime.Scheduling.HubScheduling",
    ];

    public string? Name;

    /// <summary>Where it was created (spawned), with file and line where symbols allow.</summary>
    public StackTrace? SpawnSite;

    /// <summary>Its own stack when it last suspended (captured by the greenlet itself, just before its switch).</summary>
    public StackTrace? SuspendedStack;

    /// <summary><c>Type.Method</c> for a body delegate; a lambda as <c>Type.Enclosing (lambda)</c>. Reflection:
    /// diagnostics only.</summary>
    public static string? DescribeBody(Delegate? body)
    {
        if (body is null) return null;
        MethodInfo m = body.Method;
        Type? type = m.DeclaringType;
        // closures live in nested compiler types (<>c, <>c__DisplayClass0_0): name the type that declares them
        while (type is not null && type.Name.StartsWith('<') && type.DeclaringType is not null) type = type.DeclaringType;
        string name = m.Name;
        // a lambda's method is named "<Enclosing>b__0_1"; a local function "<Enclosing>g__Local|0_0"
        int end = name.StartsWith('<') ? name.LastIndexOf('>') : -1;
        if (end > 1)
        {
            string enclosing = name[1..end].Trim('<', '>', '$');        // top-level statements: "<<Main>$>b__0_0"
            int local = name.IndexOf("g__", end, StringComparison.Ordinal);
            if (local > 0)
            {
                int bar = name.IndexOf('|', local);
                name = $"{enclosing}.{name[(local + 3)..(bar > 0 ? bar : name.Length)]}";
            }
            else name = $"{enclosing} (lambda)";
        }
        return type is null ? name : $"{TypeName(type)}.{name}";
    }

    private static string TypeName(Type t)
    {
        string n = t.Name;
        int tick = n.IndexOf('`');
        return tick > 0 ? n[..tick] : n;
    }

    /// <summary>Formats a captured stack for people, without the switching plumbing: the frames of <see cref="Hub"/>,
    /// <see cref="Greenlet"/>, <see cref="Fiber"/> and the scheduler above the first other frame (the park and switch machinery, the
    /// spawn call) and below the last one (a greenlet's entry, <c>Hub.Run</c>). What a fiber waits in (a
    /// <c>FiberEvent</c>, a socket, a server's accept loop) stays. Trim-safe: frames are described by
    /// <see cref="DiagnosticMethodInfo"/>.</summary>
    public static string Format(StackTrace trace)
    {
        StackFrame[] frames = trace.GetFrames();
        var methods = new DiagnosticMethodInfo?[frames.Length];
        for (int i = 0; i < frames.Length; i++) methods[i] = DiagnosticMethodInfo.Create(frames[i]);
        int first = 0, end = frames.Length;
        while (first < end && IsPlumbing(methods[first])) first++;
        while (end > first && IsPlumbing(methods[end - 1])) end--;
        if (first == end) (first, end) = (0, frames.Length);      // nothing else: show it all
        var sb = new StringBuilder();
        for (int i = first; i < end; i++)
        {
            if (methods[i] is not { } m) continue;
            sb.Append("   at ");
            if (m.DeclaringTypeName is { Length: > 0 } t) sb.Append(t).Append('.');
            sb.Append(m.Name).Append("()");
            if (frames[i].GetFileName() is { } file) sb.Append(" in ").Append(file).Append(':').Append(frames[i].GetFileLineNumber());
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static bool IsPlumbing(DiagnosticMethodInfo? m)
    {
        if (m is null) return true;
        if (m.DeclaringAssemblyName is not { } asm || m.DeclaringTypeName is not { } type) return false;
        int comma = asm.IndexOf(',');
        if ((comma < 0 ? asm : asm[..comma]) != s_self) return false;
        foreach (string p in s_plumbing)
            if (type == p || (type.StartsWith(p, StringComparison.Ordinal) && type.Length > p.Length && type[p.Length] == '+')) return true;
        return false;
    }
}
