namespace FiberRuntime.Tests.Sync;

public sealed class FiberPriorityQueueComparerTests
{
    [Fact]
    public void Comparer_is_the_one_given_or_the_default_and_orders_the_queue()
    {
        Hub.Run(() =>
        {
            IComparer<int> descending = Comparer<int>.Create((a, b) => b.CompareTo(a));
            var byDefault = new FiberPriorityQueue<int>();
            var reversed = new FiberPriorityQueue<int>(descending);
            Assert.Same(Comparer<int>.Default, byDefault.Comparer);
            Assert.Same(descending, reversed.Comparer);
            foreach (int x in new[] { 5, 1, 9, 3, 7 })
            {
                byDefault.Put(x);
                reversed.Put(x);
            }
            Assert.Equal([1, 3, 5, 7, 9], Enumerable.Range(0, 5).Select(_ => byDefault.Get()).ToArray());
            Assert.Equal([9, 7, 5, 3, 1], Enumerable.Range(0, 5).Select(_ => reversed.Get()).ToArray());
        });
    }
}
