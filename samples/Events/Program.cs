// gevent tutorial, "Events" and "AsyncResult" (sleeps scaled from seconds to tenths of a second).
// Expected output:
//   A: Hey wait for me, I have to do something
//   I'll wait for you            (x2)
//   Ok, I'm done
//   It's about time              (x2)
//   Hello!
using FiberRuntime;

Hub.Run(() =>
{
    var evt = new FiberEvent();
    void Setter()
    {
        Console.WriteLine("A: Hey wait for me, I have to do something");
        Fiber.Sleep(0.3);
        Console.WriteLine("Ok, I'm done");
        evt.Set();
    }
    void Waiter()
    {
        Console.WriteLine("I'll wait for you");
        evt.Wait();
        Console.WriteLine("It's about time");
    }
    Fiber.JoinAll([Fiber.Spawn(Setter), Fiber.Spawn(Waiter), Fiber.Spawn(Waiter)]);

    var result = new AsyncResult<string>();
    var setter = Fiber.Spawn(() =>
    {
        Fiber.Sleep(0.1);
        result.Set("Hello!");
    });
    var waiter = Fiber.Spawn(() => Console.WriteLine(result.Get()));
    Fiber.JoinAll([setter, waiter]);
});
