namespace FiberRuntime.Tests.Interop;

/// <summary>Fiber.Await: a Task awaited from a fiber suspends only that fiber.</summary>
public sealed class AwaitTests
{
    [Fact]
    public void Await_of_a_pending_task_suspends_only_the_fiber_and_returns_its_result()
    {
        var log = new List<string>();
        int result = Hub.Run(() =>
        {
            var tcs = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Fiber other = Fiber.Spawn(() =>
            {
                for (int i = 0; i < 3; i++)
                {
                    log.Add("other " + i);
                    Fiber.Sleep(0.01);
                }
                _ = Task.Run(() => tcs.SetResult(42));      // completed by a thread-pool thread
            });
            int value = Fiber.Await(tcs.Task);              // the hub keeps running `other` meanwhile
            log.Add("awaited " + value);
            other.Join();
            return value;
        });
        Assert.Equal(42, result);
        Assert.Equal(["other 0", "other 1", "other 2", "awaited 42"], log);
    }

    [Fact]
    public void Await_of_completed_faulted_and_cancelled_tasks()
    {
        Hub.Run(() =>
        {
            Assert.Equal(7, Fiber.Await(Task.FromResult(7)));
            var boom = Assert.Throws<InvalidOperationException>(() => Fiber.Await(Task.FromException(new InvalidOperationException("boom"))));
            Assert.Equal("boom", boom.Message);
            Assert.Throws<TaskCanceledException>(() => Fiber.Await(Task.FromCanceled(new CancellationToken(true))));
            // a task that faults later, on another thread
            var later = Task.Run(async () =>
            {
                await Task.Delay(20);
                throw new FormatException("later");
            });
            Assert.Equal("later", Assert.Throws<FormatException>(() => Fiber.Await(later)).Message);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
            Assert.ThrowsAny<OperationCanceledException>(() => Fiber.Await(Task.Delay(TimeSpan.FromSeconds(30), cts.Token)));
        });
    }

    [Fact]
    public void A_fiber_waiting_only_for_a_task_is_not_a_deadlock()
    {
        // nothing on the hub can wake main while the task runs elsewhere: that must not raise LoopExitException
        string s = Hub.Run(() => Fiber.Await(Task.Run(async () =>
        {
            await Task.Delay(50);
            return "done";
        })));
        Assert.Equal("done", s);
    }

    [Fact]
    public void Many_fibers_awaiting_tasks_concurrently()
    {
        long sum = Hub.Run(() =>
        {
            var fibers = Enumerable.Range(0, 200).Select(i => Fiber.Spawn(() => Fiber.Await(Task.Run(() => (long)i * i)))).ToList();
            return fibers.Sum(f => f.Get());
        });
        Assert.Equal(Enumerable.Range(0, 200).Sum(i => (long)i * i), sum);
    }

    [Fact]
    public void Await_from_a_plain_thread_blocks_it()
    {
        Assert.Equal(5, Fiber.Await(Task.Run(() => 5)));
        Assert.Throws<ArgumentNullException>(() => Fiber.Await((Task)null!));
    }
}
