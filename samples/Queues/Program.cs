// gevent tutorial, "Queues": a boss puts 24 tasks, three named workers consume them; then the bounded variant
// (maxsize 3, get with a timeout ending in Empty).
using FiberRuntime;

Hub.Run(() =>
{
    var tasks = new FiberQueue<int>();
    void Worker(string name)
    {
        while (!tasks.IsEmpty)
        {
            int task = tasks.Get();
            Console.WriteLine($"Worker {name} got task {task}");
            Fiber.Sleep(0);
        }
        Console.WriteLine("Quitting time!");
    }
    Fiber.Spawn(() =>
    {
        for (int i = 1; i < 25; i++) tasks.PutNoWait(i);
    }).Join();
    Fiber.JoinAll([Fiber.Spawn(() => Worker("steve")), Fiber.Spawn(() => Worker("john")), Fiber.Spawn(() => Worker("nancy"))]);

    var bounded = new FiberQueue<int>(maxSize: 3);
    void BoundedWorker(string name)
    {
        try
        {
            while (true)
            {
                int task = bounded.Get(TimeSpan.FromSeconds(0.2));
                Console.WriteLine($"Worker {name} got task {task}");
                Fiber.Sleep(0);
            }
        }
        catch (QueueEmptyException)
        {
            Console.WriteLine("Quitting time!");
        }
    }
    void Boss()
    {
        for (int i = 1; i < 10; i++) bounded.Put(i);
        Console.WriteLine("Assigned all work in iteration 1");
        for (int i = 10; i < 20; i++) bounded.Put(i);
        Console.WriteLine("Assigned all work in iteration 2");
    }
    Fiber.JoinAll([Fiber.Spawn(Boss), Fiber.Spawn(() => BoundedWorker("steve")), Fiber.Spawn(() => BoundedWorker("john")), Fiber.Spawn(() => BoundedWorker("bob"))]);
});
