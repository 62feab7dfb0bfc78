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
    public void MultipleListenersErrorUnlink_OnlyTheFirstIsNotified(bool failing)
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
    public void MultipleListenersError_AThrowingListenerDoesNotStopTheOthers_InLinkOrder()
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
    public void Unlink_AfterTheFiberFinished_BeforeTheNotificationRuns_IsNeverCalled()
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
    public void ALinkAddedByALink_IsCalledOnce_AndKindsStillFilter()
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
    public void AJoinerResumes_AfterTheLinksRegisteredBeforeItRan()
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
