namespace FiberRuntime.Tests.Scheduling;

/// <summary>Links are notified one at a time, and nothing is notified after Unlink, even once the notification has
/// started (gevent test__greenlet.TestStuff.test_multiple_listeners_error_unlink).</summary>
public class LinkNotificationTests
{
    private sealed class ExpectedException(string message) : Exception(message);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    /// <summary>gevent's Results: two listeners that unlink each other, and one more; all three throw.</summary>
    private sealed class Results
    {
        public readonly List<int> Seen = [];

        public void Listener1(Fiber p)
        {
            p.Unlink(Listener2);
            Seen.Add(5);
            throw new ExpectedException("listener1");
        }

        public void Listener2(Fiber p)
        {
            p.Unlink(Listener1);
            Seen.Add(5);
            throw new ExpectedException("listener2");
        }

        public void Listener3(Fiber p) => throw new ExpectedException("listener3");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Multiple_listeners_error_unlink_only_the_first_is_notified(bool failing)
    {
        Hub.Run(() =>
        {
            Fiber p = Fiber.Spawn(() => failing ? throw new ExpectedException("body") : 5);
            var results = new Results();
            var done = new FiberEvent();
            p.Link(results.Listener1);
            p.Link(results.Listener2);
            p.Link(results.Listener3);
            p.Link(_ => done.Set());                    // links run in order: the others have run before it
            Assert.True(done.Wait(Long));
            Assert.Equal([5], results.Seen);
            p.Kill();
        });
    }

    [Fact]
    public void Multiple_listeners_error_a_throwing_listener_does_not_stop_the_others_in_link_order()
    {
        // gevent test_multiple_listeners_error
        Hub.Run(() =>
        {
            var seen = new List<int>();
            Fiber p = Fiber.Spawn(() => 5);
            p.Link(_ => { seen.Add(10); throw new ExpectedException("1"); });
            p.Link(_ => { seen.Add(20); throw new ExpectedException("2"); });
            p.Link(_ => throw new ExpectedException("3"));
            var done = new FiberEvent();
            p.Link(_ => { seen.Add(30); done.Set(); });
            Assert.True(done.Wait(Long));
            Assert.Equal([10, 20, 30], seen);
        });
    }

    [Fact]
    public void Unlink_after_the_fiber_finished_before_the_notification_runs_is_never_called()
    {
        Hub.Run(() =>
        {
            int early = 0, late = 0, kept = 0;
            Action<Fiber> earlyLink = _ => early++;
            Action<Fiber> lateLink = _ => late++;
            Fiber f = Fiber.Spawn(() => { });
            f.Link(earlyLink);
            f.Link(_ => kept++);
            Fiber.Yield();                              // f ran and finished: its notification is queued, not run
            Assert.True(f.IsReady);
            f.Unlink(earlyLink);
            f.Link(lateLink);                           // linked to a finished fiber: notified soon…
            f.Unlink(lateLink);                         // …unless unlinked first
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal((0, 0, 1), (early, late, kept));
        });
    }

    [Fact]
    public void A_link_added_by_a_link_is_called_once_and_kinds_still_filter()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber f = Fiber.Spawn(() => { });
            f.Link(x =>
            {
                log.Add("first");
                x.Link(_ => log.Add("added"));
                x.LinkException(_ => log.Add("never: it succeeded"));
                x.LinkValue(_ => log.Add("value"));
            });
            f.Join();
            Fiber.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.Equal(["first", "added", "value"], log);
        });
    }

    [Fact]
    public void A_joiner_resumes_after_the_links_registered_before_it_ran()
    {
        Hub.Run(() =>
        {
            var log = new List<string>();
            Fiber f = Fiber.Spawn(() => Fiber.Yield());
            f.Link(_ => log.Add("link 1"));
            f.Link(_ => log.Add("link 2"));
            f.Join();
            log.Add("joined");
            Assert.Equal(["link 1", "link 2", "joined"], log);
        });
    }
}
