using FiberRuntime.Scheduling;

namespace FiberRuntime;

// A fiber's links: callbacks run on the hub once it has finished (gevent's link / rawlink / unlink).
public partial class Fiber
{
    /// <summary>Which endings a link callback wants (gevent's <c>link</c>, <c>link_value</c>, <c>link_exception</c>).</summary>
    private enum LinkKind : byte { Any, Value, Exception }

    /// <summary>Calls <paramref name="callback"/> on the hub once the fiber has finished (soon, from the hub loop,
    /// if it has). Callbacks run in the order they were linked, one after another; one that throws is reported and
    /// does not stop the others.</summary>
    public void Link(Action<Fiber> callback) => AddLink(callback, LinkKind.Any);

    /// <summary>Like <see cref="Link"/>, only when the fiber finishes successfully.</summary>
    public void LinkValue(Action<Fiber> callback) => AddLink(callback, LinkKind.Value);

    /// <summary>Like <see cref="Link"/>, only when the fiber finishes with an exception.</summary>
    public void LinkException(Action<Fiber> callback) => AddLink(callback, LinkKind.Exception);

    /// <summary>Removes a callback added with <see cref="Link"/>, <see cref="LinkValue"/> or <see cref="LinkException"/>
    /// (every registration of it). Once it is removed it is never called, even if the fiber has already finished and
    /// its links are being called (gevent's <c>unlink</c>; for example, a link may unlink a later one). From another
    /// thread the removal is posted to the hub and takes effect when the hub runs it.</summary>
    public void Unlink(Action<Fiber> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (!Hub.IsCallerOnHub)
        {
            Hub.Post(() => Unlink(callback));
            return;
        }
        _side?.Links?.RemoveAll(l => l.Callback == callback);
    }

    private void AddLink(Action<Fiber> callback, LinkKind kind)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (!Hub.IsCallerOnHub)
        {
            Hub.Post(() => AddLink(callback, kind));
            return;
        }
        (Side.Links ??= []).Add((callback, kind));
        if (IsReady) ScheduleLinks();
    }

    private void ScheduleLinks()
    {
        if (_side is not { Links.Count: > 0 } side || side.NotifyingLinks) return;
        side.NotifyingLinks = true;
        Hub.ScheduleCallback(static f => ((Fiber)f!).NotifyLinks(), this);
    }

    /// <summary>Calls the links one at a time, taking each off the list just before its call (gevent's
    /// <c>_notify_links</c>): a callback unlinked meanwhile, even by an earlier link, is never called, and one linked
    /// meanwhile is called in the same pass.</summary>
    private void NotifyLinks()
    {
        try
        {
            while (_side?.Links is { Count: > 0 } links)
            {
                (Action<Fiber> callback, LinkKind kind) = links[0];
                links.RemoveAt(0);
                if (kind == LinkKind.Any || (kind == LinkKind.Value) == IsSuccessful) callback(this);
            }
        }
        finally
        {
            // a callback threw (the loop reports it): the remaining links run in a callback of their own
            _side!.NotifyingLinks = false;
            ScheduleLinks();
        }
    }
}
