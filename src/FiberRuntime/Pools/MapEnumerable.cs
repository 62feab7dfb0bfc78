using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using FiberRuntime.Scheduling;

namespace FiberRuntime.Pools;

/// <summary>The lazy sequence behind <see cref="FiberGroup.Imap{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/>
/// and <see cref="FiberGroup.ImapUnordered{TIn, TResult}(IEnumerable{TIn}, Func{TIn, TResult}, int)"/> (gevent's
/// <c>IMap</c> / <c>IMapUnordered</c>). Every enumeration starts the work afresh.</summary>
internal sealed class MapEnumerable<TIn, TResult>(FiberGroup group, IEnumerable<TIn> source, Func<TIn, TResult> func, int maxSize, bool ordered)
    : IEnumerable<TResult>
{
    public IEnumerator<TResult> GetEnumerator() => new MapEnumerator<TIn, TResult>(group, source, func, maxSize, ordered);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Pull-driven map: each <see cref="MoveNext"/> (on the group's hub) tops up the calls in flight to the
/// bound, then waits for the next result. "In flight" counts calls running and results finished but not yet
/// yielded, so at most <c>maxSize</c> calls ever run at once and the ordered variant never gets more than
/// <c>maxSize</c> items ahead of the consumer.</summary>
internal sealed class MapEnumerator<TIn, TResult> : IEnumerator<TResult>
{
    private readonly record struct Outcome(TResult? Value, Exception? Error);

    private readonly FiberGroup _group;
    private readonly IEnumerable<TIn> _sourceEnumerable;
    private readonly Func<TIn, TResult> _func;
    private readonly int _limit;
    private readonly bool _ordered;
    private readonly WaitQueue _consumer = new();
    private readonly Dictionary<int, Outcome> _byIndex = [];     // ordered: finished, waiting for their turn
    private readonly Queue<Outcome> _byCompletion = new();       // unordered: finished, in completion order
    private IEnumerator<TIn>? _source;
    private bool _sourceDone;
    private bool _disposed;
    private int _nextIndex;      // index of the next item taken from the source
    private int _yieldIndex;     // ordered: index of the next result to yield
    private int _inFlight;       // started and not yet yielded
    private TResult _current = default!;

    public MapEnumerator(FiberGroup group, IEnumerable<TIn> source, Func<TIn, TResult> func, int maxSize, bool ordered)
    {
        _group = group;
        _sourceEnumerable = source;
        _func = func;
        _limit = maxSize == 0 ? int.MaxValue : maxSize;
        _ordered = ordered;
    }

    public TResult Current => _current;

    object? IEnumerator.Current => _current;

    public bool MoveNext() => _group.OnHub(MoveNextOnHub);

    /// <summary>Stops taking items from the source. Calls already started keep running in the group (as in gevent,
    /// where an abandoned iterator leaves its greenlets running); their results are dropped.</summary>
    public void Dispose() => _group.OnHub(() =>
    {
        if (_disposed) return 0;
        _disposed = true;
        _sourceDone = true;
        _source?.Dispose();
        _byIndex.Clear();
        _byCompletion.Clear();
        return 0;
    });

    public void Reset() => throw new NotSupportedException();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool MoveNextOnHub()
    {
        if (_disposed) return false;
        while (true)
        {
            TopUp();
            if (TryTake(out Outcome outcome))
            {
                _inFlight--;
                if (outcome.Error is { } error) ExceptionDispatchInfo.Throw(error);
                _current = outcome.Value!;
                return true;
            }
            if (_inFlight == 0 && _sourceDone) return false;
            _group.Hub.WaitOn(_consumer, null, _ordered ? "FiberGroup.Imap" : "FiberGroup.ImapUnordered");
        }
    }

    private bool TryTake(out Outcome outcome)
    {
        if (_ordered)
        {
            if (_byIndex.Remove(_yieldIndex, out outcome))
            {
                _yieldIndex++;
                return true;
            }
            return false;
        }
        return _byCompletion.TryDequeue(out outcome);
    }

    private void TopUp()
    {
        while (!_sourceDone && _inFlight < _limit)
        {
            // a full pool: rather wait for one of ours to finish than block in Spawn (unless none is in flight)
            if (_inFlight > 0 && _group.IsFullNow()) break;
            _source ??= _sourceEnumerable.GetEnumerator();
            if (!_source.MoveNext())
            {
                _sourceDone = true;
                _source.Dispose();
                break;
            }
            TIn item = _source.Current;
            int index = _nextIndex++;
            if (_group.IsFullNow() && _group.ContainsCurrentFiber())
            {
                // the caller holds a slot of this full pool: spawning would wait on itself; run inline (gevent's apply)
                _inFlight++;
                Outcome inline;
                try
                {
                    inline = new Outcome(_func(item), null);
                }
                catch (Exception e)
                {
                    inline = new Outcome(default, e);
                }
                Deliver(index, inline);
                continue;
            }
            Func<TIn, TResult> func = _func;
            Fiber<TResult> fiber = _group.Spawn(() => func(item));
            _inFlight++;
            fiber.Link(f => Deliver(index, new Outcome(((Fiber<TResult>)f).Value, f.Exception)));
        }
    }

    private void Deliver(int index, Outcome outcome)
    {
        if (_disposed) return;
        if (_ordered) _byIndex[index] = outcome;
        else _byCompletion.Enqueue(outcome);
        _consumer.WakeOne(_group.Hub);
    }
}
