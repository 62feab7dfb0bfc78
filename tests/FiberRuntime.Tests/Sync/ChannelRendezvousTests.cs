namespace FiberRuntime.Tests.Sync;

/// <summary>FiberChannel as gevent's Channel: a put returns only after a getter took the item and was switched to
/// (gevent's test__queue.TestChannel), with kills and timeouts that neither lose nor duplicate an item.</summary>
public class ChannelRendezvousTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Test_send_the_producer_is_never_an_item_ahead_of_the_consumer(bool foreachConsumer)
    {
        // gevent test_send: another_greenlet gets twice and ends; and the consumer loop the issue reports,
        // `for item in channel: events.append(item)`
        Hub.Run(() =>
        {
            var channel = new FiberChannel<string>();
            var events = new List<string>();
            Fiber consumer = Fiber.Spawn(() =>
            {
                if (foreachConsumer)
                {
                    foreach (string item in channel) events.Add(item);
                }
                else
                {
                    events.Add(channel.Get());
                    events.Add(channel.Get());
                }
            });
            events.Add("sending");
            channel.Put("hello");
            events.Add("sent hello");
            channel.Put("world");
            events.Add("sent world");
            Assert.Equal(["sending", "hello", "sent hello", "world", "sent world"], events);
            if (foreachConsumer) consumer.Kill();
            else consumer.Get();
        });
    }

    [Fact]
    public void Test_wait_the_getter_runs_before_the_putter_resumes()
    {
        // gevent test_wait
        Hub.Run(() =>
        {
            var channel = new FiberChannel<string>();
            var events = new List<string>();
            Fiber g = Fiber.Spawn(() =>
            {
                events.Add("sending hello");
                channel.Put("hello");
                events.Add("sending world");
                channel.Put("world");
                events.Add("sent world");
            });
            events.Add("waiting");
            events.Add(channel.Get());
            events.Add(channel.Get());
            Assert.Equal(["waiting", "sending hello", "hello", "sending world", "world"], events);
            Fiber.Sleep(TimeSpan.Zero);
            Assert.Equal(["waiting", "sending hello", "hello", "sending world", "world", "sent world"], events);
            g.Get();
        });
    }

    [Fact]
    public void PutNoWait_returns_after_the_getter_ran_TryPut_before()
    {
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            var got = new List<int>();
            Fiber Getter() => Fiber.Spawn(() => got.Add(channel.Get()));
            Fiber a = Getter();
            Fiber.Yield();
            channel.PutNoWait(1);
            Assert.Equal([1], got);                     // gevent's put_nowait: the getter has been switched to
            Assert.True(a.IsReady);

            Fiber b = Getter();
            Fiber.Yield();
            Assert.True(channel.TryPut(2));
            Assert.Equal([1], got);                     // TryPut never blocks: the getter runs after it returns
            b.Join(Long);
            Assert.Equal([1, 2], got);

            Fiber c = Getter();
            Fiber.Yield();
            channel.Put(3, TimeSpan.FromSeconds(10));   // a timed put that finds a getter is a rendezvous too
            Assert.Equal([1, 2, 3], got);
            Assert.True(c.IsReady);

            Assert.Throws<QueueFullException>(() => channel.PutNoWait(4));
            Assert.False(channel.TryPut(4));
            Assert.Equal(0, channel.Balance);
        });
    }

    [Fact]
    public void Timed_put_that_a_getter_takes_in_time_succeeds_and_the_getter_has_run()
    {
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            var gate = new FiberEvent();
            int got = 0;
            Fiber getter = Fiber.Spawn(() =>
            {
                gate.Wait();
                got = channel.Get();
            });
            Fiber putter = Fiber.Spawn(() => channel.Put(5, TimeSpan.FromSeconds(20)));
            Fiber.Yield();
            gate.Set();
            Assert.True(putter.Join(Long));
            putter.Get();                               // no QueueFullException
            Assert.Equal(5, got);
            Assert.True(getter.IsReady);
        });
    }

    [Fact]
    public void Kill_the_putter_during_the_rendezvous_the_put_completed_once()
    {
        // the getter, switched to with the item, kills the putter before it resumes: the put happened (gevent's
        // unlock switches to the putter before the kill's callback runs), and the kill lands at its next block
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            var got = new List<int>();
            Fiber? putter = null;
            Fiber getter = Fiber.Spawn(() =>
            {
                got.Add(channel.Get());
                putter!.Kill(block: false);
            });
            bool putReturned = false;
            putter = Fiber.Spawn(() =>
            {
                channel.Put(1);
                putReturned = true;
                Fiber.Sleep(Long);
            });
            Assert.True(putter.Join(Long));
            Assert.True(putReturned);
            Assert.True(putter.WasKilled);
            Assert.True(getter.Join(Long));
            Assert.Equal([1], got);
            Assert.Equal(0, channel.Balance);
            Assert.False(channel.TryGet(out _));        // not offered a second time
        });
    }

    [Fact]
    public void Kill_the_served_getter_before_it_runs_it_still_receives_and_the_putter_returns()
    {
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            int received = 0;
            Fiber getter = Fiber.Spawn(() => { received = channel.Get(); Fiber.Sleep(Long); });
            Fiber.Yield();
            // run queue: putter, killer. The putter wakes the getter (queued behind the killer), so the kill
            // arrives while the getter is being woken with the item
            Fiber putter = Fiber.Spawn(() => channel.Put(42));
            Fiber killer = Fiber.Spawn(() => getter.Kill(block: false));
            Assert.True(putter.Join(Long));
            Assert.True(putter.IsSuccessful);
            Assert.True(getter.Join(Long));
            Assert.Equal(42, received);
            Assert.True(getter.WasKilled);
            Assert.True(killer.IsReady);
            Assert.False(channel.TryGet(out _));
        });
    }

    [Fact]
    public void A_pending_kill_is_raised_by_put_before_the_item_changes_hands()
    {
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            var wake = new FiberEvent();
            var got = new List<int>();
            Fiber getter = Fiber.Spawn(() => got.Add(channel.Get()));
            Fiber putter = Fiber.Spawn(() =>
            {
                wake.Wait();            // woken, then killed before it runs: the kill waits for its next block
                channel.Put(1);
            });
            Fiber.Yield();
            wake.Set();
            putter.Kill(block: false);
            Assert.True(putter.Join(Long));
            Assert.True(putter.WasKilled);
            Assert.Empty(got);                          // the killed put handed nothing over
            Assert.Equal(-1, channel.Balance);          // the getter still waits
            channel.Put(2);
            Assert.Equal([2], got);
            Assert.True(getter.IsReady);
        });
    }

    [Fact]
    public void Iteration_takes_each_item_once_in_order()
    {
        Hub.Run(() =>
        {
            var channel = new FiberChannel<int>();
            var trace = new List<string>();
            Fiber producer = Fiber.Spawn(() =>
            {
                for (int i = 1; i <= 4; i++)
                {
                    channel.Put(i);
                    trace.Add($"put {i}");
                }
            });
            foreach (int item in channel)
            {
                trace.Add($"got {item}");
                if (item == 4) break;
            }
            producer.Join(Long);
            Assert.Equal(["got 1", "put 1", "got 2", "put 2", "got 3", "put 3", "got 4", "put 4"], trace);
            Assert.Equal(0, channel.Balance);
        });
    }
}
