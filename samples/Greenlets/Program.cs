// Raw greenlets (the `greenlet` module), as in the gevent tutorial's introduction: explicit Switch, no hub loop.
//
// Expected output:
//   producer sends apple
//   consumer got apple
//   producer sends banana
//   consumer got banana
//   producer sends cherry
//   consumer got cherry
//   consumer done after 3 items
//   a.....
//   b.....
//   a....2
//   b....2
//   A and B are dead: True True
using FiberRuntime;

Hub.Run(() =>
{
    // ---- a generator-style consumer (`item = yield`) fed by a producer -----------------------------------
    // consumer.Switch(item) delivers item as the return value of the consumer's pending Switch(); the first
    // Switch starts it, with the item as its run's argument.
    var consumer = new Greenlet(first =>
    {
        int count = 0;
        object? item = first;
        while (item is not null)
        {
            Console.WriteLine($"consumer got {item}");
            count++;
            item = Greenlet.Current!.Parent!.Switch();     // back to the producer; wait for the next item
        }
        return $"consumer done after {count} items";
    });
    foreach (string item in new[] { "apple", "banana", "cherry" })
    {
        Console.WriteLine($"producer sends {item}");
        consumer.Switch(item);
    }
    Console.WriteLine(consumer.Switch(null));               // null ends it: its result comes back here

    // ---- two greenlets alternating ---------------------------------------------------------------------------
    Greenlet? b = null;
    var a = new Greenlet(() =>
    {
        Console.WriteLine("a.....");
        b!.Switch();
        Console.WriteLine("a....2");
        b!.Switch();
    });
    b = new Greenlet(() =>
    {
        Console.WriteLine("b.....");
        a.Switch();
        Console.WriteLine("b....2");
    }, parent: a);   // when b ends, control goes to a, which then ends into main
    a.Switch();
    Console.WriteLine($"A and B are dead: {a.IsDead} {b.IsDead}");
});
