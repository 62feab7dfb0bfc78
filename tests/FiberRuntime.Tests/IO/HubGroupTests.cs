using System.Net;
using System.Net.Sockets;
using FiberRuntime.IO;

namespace FiberRuntime.Tests.IO;

public sealed class HubGroupTests
{
    [Fact]
    public void Spawn_spreads_fibers_over_the_hubs_threads()
    {
        using var group = new HubGroup(2);
        Assert.Equal(2, group.Hubs.Count);
        var threads = Enumerable.Range(0, 10).Select(_ => group.Spawn(() => Environment.CurrentManagedThreadId)).Select(f => f.Get()).ToHashSet();
        Assert.Equal(group.Hubs.Select(h => h.ManagedThreadId).ToHashSet(), threads);
    }

    [Fact]
    public void Serve_runs_a_server_on_every_hub_on_one_port()
    {
        using var group = new HubGroup(2);
        IPEndPoint where = group.Serve(new IPEndPoint(IPAddress.Loopback, 0), (c, _) =>
        {
            var b = new byte[64];
            int n;
            while ((n = c.Receive(b)) > 0) c.SendAll(b.AsSpan(0, n));
        });
        int echoed = Hub.Run(() =>
        {
            var clients = Enumerable.Range(0, 100).Select(i => Fiber.Spawn(() =>
            {
                using var s = new FiberSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(where);
                s.SendAll([(byte)i]);
                var b = new byte[1];
                return s.Receive(b, timeout: TimeSpan.FromSeconds(10)) == 1 && b[0] == (byte)i ? 1 : 0;
            })).ToList();
            return clients.Sum(c => c.Get());
        }, new HubOptions { MaxFibers = 256 });
        Assert.Equal(100, echoed);
        IReadOnlyList<long> perHub = group.ConnectionsServedPerHub;
        Assert.Equal(100, perHub.Sum());
        Assert.All(perHub, n => Assert.True(n > 0, $"a hub served no connection: {string.Join(", ", perHub)}"));   // 2^-99 chance of a false failure
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HubGroup(0));
        using var group = new HubGroup(1);
        Assert.Throws<ArgumentNullException>(() => group.Serve(null!, (_, _) => { }));
        Assert.Throws<ArgumentNullException>(() => group.Spawn((Action)null!));
    }
}
