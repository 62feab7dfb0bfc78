using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace FiberRuntime.TestHost;

/// <summary>
/// The runtime's stack guards inside fibers (issue 12). Usage:
/// <c>stack &lt;ensure|tryensure|expression|regex&gt; &lt;fiber|root&gt; [--stack-kib N]</c>.
/// Runs the case in a spawned fiber or on Hub.Run's root greenlet, prints <c>CASE: ...</c> with what happened, then
/// checks the hub still switches (<c>HUB OK</c>). A broken guard ends the process with "Stack overflow." instead.
/// </summary>
internal static class StackScenarios
{
    public static int Run(string[] args)
    {
        string kind = args.ElementAtOrDefault(1) ?? "ensure", where = args.ElementAtOrDefault(2) ?? "fiber";
        int kib = args.SkipWhile(a => a != "--stack-kib").Skip(1).Select(int.Parse).FirstOrDefault(HubOptions.DefaultStackSize / 1024);
        var options = new HubOptions { StackSize = kib * 1024 };
        string result = Hub.Run(() =>
        {
            string r = where == "root" ? RunCase(kind) : Fiber.Spawn(() => RunCase(kind)).Get();
            // the hub keeps working afterwards: a few fibers and switches
            int sum = 0;
            var fibers = Enumerable.Range(1, 10).Select(i => Fiber.Spawn(() => { Fiber.Sleep(0); sum += i; })).ToList();
            Fiber.JoinAll(fibers);
            return r + (sum == 55 ? "\nHUB OK" : "\nHUB BROKEN sum=" + sum);
        }, options);
        Console.WriteLine(result);
        return result.Contains("HUB OK", StringComparison.Ordinal) ? 0 : 5;
    }

    private static string RunCase(string kind) => kind switch
    {
        "ensure" => Ensure(),
        "tryensure" => TryEnsure(),
        "expression" => DeepExpression(),
        "regex" => DeepRegex(),
        _ => throw new ArgumentException("unknown stack case " + kind),
    };

    private static string Ensure()
    {
        int depth = 0;
        try
        {
            EnsureRecursion(ref depth);
            return "CASE: ensure returned without an exception";
        }
        catch (InsufficientExecutionStackException)
        {
            return $"CASE: ensure InsufficientExecutionStackException at depth {depth}";
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void EnsureRecursion(ref int depth)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        Span<byte> pad = stackalloc byte[256];
        pad[depth & 255] = 1;
        depth++;
        EnsureRecursion(ref depth);
        GC.KeepAlive(pad[0]);
    }

    private static string TryEnsure()
    {
        int depth = TryRecursion(0);
        return $"CASE: tryensure false at depth {depth}";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int TryRecursion(int depth)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) return depth;
        Span<byte> pad = stackalloc byte[256];
        pad[depth & 255] = 1;
        return TryRecursion(depth + 1) + pad[depth & 255] - 1;
    }

    private static string DeepExpression()
    {
        Expression e = Expression.Constant(0);
        for (int i = 0; i < 20_000; i++) e = Expression.Add(e, Expression.Constant(1));
        int value = Expression.Lambda<Func<int>>(e).Compile()();
        return $"CASE: expression compiled, value {value}";
    }

    private static string DeepRegex()
    {
        try
        {
            var regex = new Regex(new string('(', 20_000) + "a" + new string(')', 20_000));
            return $"CASE: regex built, matches 'a': {regex.IsMatch("a")}";
        }
        catch (Exception e) when (e is ArgumentException or InsufficientExecutionStackException or NotSupportedException)
        {
            return $"CASE: regex threw {e.GetType().Name}";
        }
    }
}
