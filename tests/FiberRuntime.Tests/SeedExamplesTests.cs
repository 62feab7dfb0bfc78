namespace FiberRuntime.Tests;

/// <summary>The two classic greenlet examples, with the printed lines captured in a list.</summary>
public class SeedExamplesTests
{
    [Fact]
    public void Generator_style_consumer_receives_every_item_in_order()
    {
        var printed = new List<string>();

        object? producerResult = Hub.Run(() =>
        {
            var producer = new Greenlet(_ =>
            {
                Greenlet producerSelf = Greenlet.Current!;
                // value = yield: the consumer's pending Switch() returns what the producer passes in.
                var consumer = new Greenlet(_ =>
                {
                    int count = 0;
                    while (true)
                    {
                        object? item = producerSelf.Switch();          // ask for the next item
                        if (item is "STOP") return $"consumer done after {count} items";
                        printed.Add($"received item {item}");
                        count++;
                    }
                });
                Assert.Same(producerSelf, consumer.Parent);

                Assert.Null(consumer.Switch());                         // prime it: runs to its first Switch()
                for (int i = 1; i <= 5; i++)
                {
                    printed.Add($"producing {i}");
                    Assert.Null(consumer.Switch(i));                    // it asks again with Switch(null)
                }
                object? last = consumer.Switch("STOP");                 // its run returns to us, its parent
                Assert.True(consumer.IsDead);
                return last;
            });
            return producer.Switch();
        });

        Assert.Equal("consumer done after 5 items", producerResult);
        Assert.Equal(
            [
                "producing 1", "received item 1",
                "producing 2", "received item 2",
                "producing 3", "received item 3",
                "producing 4", "received item 4",
                "producing 5", "received item 5",
            ],
            printed);
    }

    [Fact]
    public void Two_greenlets_alternating_print_in_exact_order()
    {
        var printed = new List<string>();
        Greenlet? a = null, b = null;

        Hub.Run(() =>
        {
            a = new Greenlet(() =>
            {
                printed.Add("a.....");
                b!.Switch();
                printed.Add("a....2");
                b!.Switch();
                printed.Add("a never resumed");
            });
            b = new Greenlet(() =>
            {
                printed.Add("b.....");
                a.Switch();
                printed.Add("b....2");
                // returns: control goes to b's parent, the root
            });

            Assert.Null(a.Switch());
            Assert.True(b.IsDead);
            Assert.False(a.IsDead);     // suspended in its second b.Switch(); killed when main returns
        });

        Assert.Equal(["a.....", "b.....", "a....2", "b....2"], printed);
        Assert.True(a!.IsDead);
    }
}
