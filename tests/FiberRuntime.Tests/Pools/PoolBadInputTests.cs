namespace FiberRuntime.Tests.Pools;

/// <summary>Bad input to groups and pools throws the .NET exception and leaves the hub working.</summary>
public class PoolBadInputTests
{
    [Fact]
    public void Nulls_and_out_of_range_values_throw_and_the_hub_keeps_working()
    {
        Hub.Run(() =>
        {
            var group = new FiberGroup();
            Assert.Throws<ArgumentNullException>(() => group.Add(null!));
            Assert.Throws<ArgumentNullException>(() => group.Discard(null!));
            Assert.Throws<ArgumentNullException>(() => group.Contains(null!));
            Assert.Throws<ArgumentNullException>(() => group.Spawn((Action)null!));
            Assert.Throws<ArgumentNullException>(() => group.Spawn((Func<int>)null!));
            Assert.Throws<ArgumentNullException>(() => group.Map<int, int>(null!, x => x));
            Assert.Throws<ArgumentNullException>(() => group.Map<int, int>(new[] { 1 }, null!));
            Assert.Throws<ArgumentNullException>(() => group.Imap<int, int>(null!, x => x));
            Assert.Throws<ArgumentNullException>(() => group.ImapUnordered<int, int>(new[] { 1 }, null!));
            Assert.Throws<ArgumentNullException>(() => group.Apply<int>(null!));
            Assert.Throws<ArgumentNullException>(() => group.ApplyAsync<int>(null!));
            Assert.Throws<ArgumentNullException>(() => group.MapAsync<int, int>(null!, x => x));
            Assert.Throws<ArgumentOutOfRangeException>(() => group.Imap(new[] { 1 }, x => x, maxSize: -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => group.ImapUnordered(new[] { 1 }, x => x, maxSize: -3));
            Assert.Throws<ArgumentOutOfRangeException>(() => group.Join(TimeSpan.FromSeconds(-2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => group.Kill(timeout: TimeSpan.FromSeconds(-2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberPool(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => new FiberPool(-1));
            var pool = new FiberPool(2);
            Assert.Throws<ArgumentOutOfRangeException>(() => pool.WaitAvailable(TimeSpan.FromSeconds(-1)));
            Assert.Throws<ArgumentNullException>(() => pool.TryAdd(null!, TimeSpan.Zero));

            // a source that throws: surfaces on the consumer, nothing is left half-counted
            static IEnumerable<int> Broken()
            {
                yield return 1;
                throw new InvalidDataException("source broke");
            }
            Assert.Throws<InvalidDataException>(() => pool.Map(Broken(), x => x));
            Assert.True(pool.Join(TimeSpan.FromSeconds(5)));
            Assert.Equal(2, pool.FreeCount);

            HubProbe.AssertHubWorks();
            Assert.Equal([2, 4], pool.Map(new[] { 1, 2 }, x => x * 2));
            Assert.Equal(7, group.Apply(() => 7));
        });
    }
}
