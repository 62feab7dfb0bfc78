using System.Globalization;

namespace FiberRuntime.Tests;

/// <summary>Each greenlet has its own ExecutionContext (AsyncLocal values) and SynchronizationContext.</summary>
public class ExecutionContextTests
{
    private sealed class TaggedContext(string tag) : SynchronizationContext
    {
        public string Tag { get; } = tag;
    }

    [Fact]
    public void AsyncLocal_set_in_one_greenlet_is_not_seen_by_another()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var local = new AsyncLocal<string>();
            Greenlet root = Greenlet.Current!;
            Greenlet? a = null, b = null;
            a = new Greenlet(() =>
            {
                log.Add($"a starts with '{local.Value}'");
                local.Value = "a";
                b!.Switch();
                log.Add($"a resumed with '{local.Value}'");
                local.Value = "a2";
                b!.Switch();
                log.Add($"a finally has '{local.Value}'");
            });
            b = new Greenlet(() =>
            {
                log.Add($"b starts with '{local.Value}'");
                local.Value = "b";
                a.Switch();
                log.Add($"b resumed with '{local.Value}'");
                root.Switch();
                log.Add($"b last sees '{local.Value}'");
            });

            a.Switch();
            log.Add($"root sees '{local.Value}'");
            a.Switch();    // a ends and returns here
            log.Add($"root still sees '{local.Value}'");
            b.Switch();
            log.Add($"root at the end sees '{local.Value}'");
        });
        Assert.Equal(
            [
                "a starts with ''",
                "b starts with ''",
                "a resumed with 'a'",
                "b resumed with 'b'",
                "root sees ''",
                "a finally has 'a2'",
                "root still sees ''",
                "b last sees 'b'",
                "root at the end sees ''",
            ],
            log);
    }

    [Fact]
    public void New_greenlet_starts_with_its_creators_values_and_its_changes_do_not_leak_back()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            var local = new AsyncLocal<string>();
            var other = new AsyncLocal<int>();
            Greenlet root = Greenlet.Current!;
            local.Value = "root value";
            other.Value = 7;

            var child = new Greenlet(() =>
            {
                log.Add($"child starts with '{local.Value}' {other.Value}");
                local.Value = "child value";
                other.Value = 8;
                root.Switch();
                log.Add($"child keeps '{local.Value}' {other.Value}");

                // a grandchild created here starts with the child's values
                var grandchild = new Greenlet(() =>
                {
                    log.Add($"grandchild starts with '{local.Value}' {other.Value}");
                    local.Value = "grandchild value";
                });
                grandchild.Switch();
                log.Add($"child after grandchild has '{local.Value}'");
            });

            child.Switch();
            log.Add($"root has '{local.Value}' {other.Value}");
            local.Value = "root changed";
            child.Switch();
            log.Add($"root ends with '{local.Value}' {other.Value}");
        });
        Assert.Equal(
            [
                "child starts with 'root value' 7",
                "root has 'root value' 7",
                "child keeps 'child value' 8",
                "grandchild starts with 'child value' 8",
                "child after grandchild has 'child value'",
                "root ends with 'root changed' 7",
            ],
            log);
    }

    [Fact]
    public void AsyncLocal_of_the_parent_is_intact_after_a_child_ends_or_throws()
    {
        Hub.Run(() =>
        {
            var local = new AsyncLocal<string> { Value = "root" };
            var ends = new Greenlet(() => { local.Value = "ended child"; });
            ends.Switch();
            Assert.Equal("root", local.Value);

            var throws = new Greenlet(() =>
            {
                local.Value = "throwing child";
                throw new InvalidOperationException("child failed");
            });
            Assert.Throws<InvalidOperationException>(() => throws.Switch());
            Assert.Equal("root", local.Value);

            Greenlet root = Greenlet.Current!;
            var exits = new Greenlet(() =>
            {
                local.Value = "exiting child";
                root.Switch();
            });
            exits.Switch();
            Assert.Equal("root", local.Value);
            Assert.IsType<GreenletExit>(exits.Throw(new GreenletExit()));
            Assert.Equal("root", local.Value);
        });
    }

    [Fact]
    public void AsyncLocal_isolation_holds_across_many_greenlets_and_switches()
    {
        const int N = 200, Rounds = 10;
        int mismatches = Hub.Run(() =>
        {
            var local = new AsyncLocal<int>();
            Greenlet root = Greenlet.Current!;
            int bad = 0;
            var gs = new Greenlet[N];
            for (int i = 0; i < N; i++)
            {
                int me = i;
                gs[i] = new Greenlet(() =>
                {
                    for (int r = 0; r < Rounds; r++)
                    {
                        local.Value = me * 1000 + r;
                        root.Switch();
                        if (local.Value != me * 1000 + r) bad++;
                    }
                });
            }
            local.Value = -1;
            for (int r = 0; r <= Rounds; r++)
                for (int i = 0; i < N; i++)
                {
                    gs[i].Switch();
                    if (local.Value != -1) bad++;
                }
            Assert.All(gs, g => Assert.True(g.IsDead));
            return bad;
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void SynchronizationContext_set_in_one_greenlet_is_not_seen_in_another()
    {
        var log = new List<string>();
        static string Tag() => SynchronizationContext.Current is TaggedContext t ? t.Tag : SynchronizationContext.Current?.GetType().Name ?? "none";

        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            log.Add($"root starts with {Tag()}");
            Greenlet? a = null, b = null;
            a = new Greenlet(() =>
            {
                log.Add($"a starts with {Tag()}");
                SynchronizationContext.SetSynchronizationContext(new TaggedContext("A"));
                b!.Switch();
                log.Add($"a resumed with {Tag()}");
                root.Switch();
                log.Add($"a ends with {Tag()}");
            });
            b = new Greenlet(() =>
            {
                log.Add($"b starts with {Tag()}");
                SynchronizationContext.SetSynchronizationContext(new TaggedContext("B"));
                a.Switch();
                log.Add($"b resumed with {Tag()}");
            });

            a.Switch();
            log.Add($"root sees {Tag()}");
            SynchronizationContext.SetSynchronizationContext(new TaggedContext("R"));
            b.Switch();        // b ends and returns to root
            log.Add($"root sees {Tag()}");
            a.Switch();
            log.Add($"root ends with {Tag()}");
            SynchronizationContext.SetSynchronizationContext(null);
        });
        Assert.Equal(
            [
                "root starts with none",
                "a starts with none",
                "b starts with none",
                "a resumed with A",
                "root sees none",
                "b resumed with B",
                "root sees R",
                "a ends with A",
                "root ends with R",
            ],
            log);
    }

    // CultureInfo.CurrentCulture lives in an AsyncLocal whose change handler refreshes a [ThreadStatic] cache;
    // the runtime runs such handlers whenever a thread's ExecutionContext changes (ThreadContextChanged = true).
    [Fact]
    public void Current_culture_set_in_one_greenlet_is_not_seen_in_another()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            CultureInfo original = CultureInfo.CurrentCulture;
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            var a = new Greenlet(() =>
            {
                CultureInfo.CurrentCulture = comma;
                log.Add($"a formats {1.5.ToString(CultureInfo.CurrentCulture)}");
                root.Switch();
                log.Add($"a again formats {1.5.ToString(CultureInfo.CurrentCulture)}");
            });
            a.Switch();
            log.Add($"root formats {1.5.ToString(CultureInfo.CurrentCulture)}, original: {ReferenceEquals(original, CultureInfo.CurrentCulture)}");
            a.Switch();
            log.Add($"root at the end formats {1.5.ToString(CultureInfo.CurrentCulture)}, original: {ReferenceEquals(original, CultureInfo.CurrentCulture)}");
        });
        Assert.Equal(
            [
                "a formats 1,5",
                "root formats 1.5, original: True",
                "a again formats 1,5",
                "root at the end formats 1.5, original: True",
            ],
            log);
    }

    [Fact]
    public void AsyncLocal_change_handler_is_notified_when_a_switch_changes_its_value()
    {
        var log = new List<string>();
        Hub.Run(() =>
        {
            Greenlet root = Greenlet.Current!;
            var local = new AsyncLocal<string>(args =>
                log.Add($"'{args.PreviousValue}' -> '{args.CurrentValue}' (context changed: {args.ThreadContextChanged})"));
            var a = new Greenlet(() =>
            {
                local.Value = "a";
                root.Switch();
                log.Add("a resumed");
            });
            a.Switch();
            log.Add("root resumed");
            a.Switch();
            log.Add("root at the end");
        });
        Assert.Equal(
            [
                "'' -> 'a' (context changed: False)",
                "'a' -> '' (context changed: True)",     // a → root
                "root resumed",
                "'' -> 'a' (context changed: True)",     // root → a
                "a resumed",
                "'a' -> '' (context changed: True)",     // a ends, back to root
                "root at the end",
            ],
            log);
    }
}
