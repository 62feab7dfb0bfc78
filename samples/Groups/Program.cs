// gevent tutorial, "Groups and Pools" (sleeps scaled from seconds to tenths of a second).
using FiberRuntime;

Hub.Run(() =>
{
    void Talk(string msg)
    {
        for (int i = 0; i < 3; i++) Console.WriteLine(msg);
    }
    Fiber g1 = Fiber.Spawn(() => Talk("bar"));
    Fiber g2 = Fiber.Spawn(() => Talk("foo"));
    Fiber g3 = Fiber.Spawn(() => Talk("fizz"));
    var group = new FiberGroup();
    group.Add(g1);
    group.Add(g2);
    group.Join();
    group.Add(g3);
    group.Join();

    var mapGroup = new FiberGroup();
    List<int> mapped = mapGroup.Map(Enumerable.Range(0, 3), n =>
    {
        Console.WriteLine($"Size of group {mapGroup.Count}");
        Console.WriteLine(Fiber.Current is not null ? "Hello from a fiber of the group" : "not in a fiber");
        return n;
    });
    Console.WriteLine($"Map returned [{string.Join(", ", mapped)}]");

    (string, int) Intensive(int n)
    {
        Fiber.Sleep(0.1 * (3 - n));
        return ("task", n);
    }
    Console.WriteLine("Ordered");
    foreach ((string, int) r in new FiberGroup().Imap(Enumerable.Range(0, 3), Intensive)) Console.WriteLine(r);
    Console.WriteLine("Unordered");
    foreach ((string, int) r in new FiberGroup().ImapUnordered(Enumerable.Range(0, 3), Intensive)) Console.WriteLine(r);

    int running = 0, most = 0;
    var bounded = new FiberGroup();
    int count = bounded.Imap(Enumerable.Range(0, 20), n =>
    {
        most = Math.Max(most, ++running);
        Fiber.Sleep(0.01);
        running--;
        return n;
    }, maxSize: 3).Count();
    Console.WriteLine($"Imap over {count} items with maxSize 3: at most {most} ran at once");

    var pool = new FiberPool(10);
    running = most = 0;
    for (int i = 0; i < 20; i++)
        pool.Spawn(() =>
        {
            most = Math.Max(most, ++running);
            Fiber.Sleep(0.02);
            running--;
        });
    pool.Join();
    Console.WriteLine($"FiberPool(10) ran 20 fibers, at most {most} at once");
});
