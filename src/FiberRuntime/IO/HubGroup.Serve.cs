using System.Net;
using FiberRuntime.IO;

namespace FiberRuntime;

// HubGroup's server: one StreamServer per hub on one shared port. In IO/ because it is built on the IO layer; the
// rest of HubGroup (core) knows nothing of sockets.
public sealed partial class HubGroup
{
    private readonly List<(Hub Hub, StreamServer Server)> _servers = [];
    private long[] _served = [];

    /// <summary>Runs a <see cref="StreamServer"/> for <paramref name="handler"/> on every hub, all on
    /// <paramref name="endPoint"/> (port 0: a free port, shared by all); returns the endpoint listened on.</summary>
    public IPEndPoint Serve(IPEndPoint endPoint, Action<FiberSocket, IPEndPoint> handler)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        IPEndPoint where = endPoint;
        _served = new long[_members.Count];
        for (int i = 0; i < _members.Count; i++)
        {
            Hub hub = _members[i].Hub;
            IPEndPoint bindTo = where;
            int index = i;
            StreamServer server = hub.SpawnAsync(() =>
            {
                var s = new StreamServer(bindTo, (connection, remote) =>
                {
                    Interlocked.Increment(ref _served[index]);
                    handler(connection, remote);
                }, reusePort: true);
                s.Start();
                return s;
            }).GetAwaiter().GetResult();
            lock (_servers) _servers.Add((hub, server));
            where = server.LocalEndPoint;     // the others bind the port the first one got
        }
        return where;
    }

    /// <summary>Connections accepted by <see cref="Serve"/> so far, per hub (in <see cref="Hubs"/> order).</summary>
    public IReadOnlyList<long> ConnectionsServedPerHub
    {
        get
        {
            long[] served = _served;
            return Enumerable.Range(0, served.Length).Select(i => Interlocked.Read(ref served[i])).ToList();
        }
    }

    partial void StopServers()
    {
        lock (_servers)
        {
            foreach ((Hub hub, StreamServer server) in _servers)
                hub.SpawnAsync(() => server.Stop()).GetAwaiter().GetResult();
            _servers.Clear();
        }
    }
}
