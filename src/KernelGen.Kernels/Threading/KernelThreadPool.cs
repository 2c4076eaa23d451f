namespace KernelGen.Kernels.Threading;

/// <summary>
/// A small pool of persistent worker threads for kernels: the caller runs one share of the work itself and the
/// workers run the rest, with no allocation and no thread start per call. Work items are claimed dynamically from a
/// shared counter, so a busy or slow core does not hold the others up. One call at a time per pool.
/// </summary>
public sealed unsafe class KernelThreadPool : IDisposable
{
    private static KernelThreadPool? s_shared;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _callGate = new(1, 1);

    // The current job. Written by the caller before publishing a new generation, read by workers after seeing it.
    private delegate*<void*, int, void> _body;
    private void* _state;
    private int _itemCount;
    private int _nextItem;
    private int _pending;
    private long _generation;
    private volatile bool _disposed;
    private Exception? _failure;

    /// <summary>Creates a pool that runs kernels on <paramref name="threads"/> threads (the caller plus threads - 1 workers).</summary>
    public KernelThreadPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, 1024);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"KernelGen worker {i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run a kernel call, the caller included.</summary>
    public int Threads { get; }

    /// <summary>A process-wide pool with one thread per logical processor, created on first use.</summary>
    public static KernelThreadPool Shared
    {
        get
        {
            var pool = Volatile.Read(ref s_shared);
            if (pool is not null)
            {
                return pool;
            }
            var created = new KernelThreadPool(Environment.ProcessorCount);
            var existing = Interlocked.CompareExchange(ref s_shared, created, null);
            if (existing is not null)
            {
                created.Dispose();
                return existing;
            }
            return created;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="state"/>, item) for every item in 0..<paramref name="itemCount"/>-1,
    /// spread over the pool's threads, and returns when all are done. <paramref name="state"/> must stay valid (pinned
    /// or on the caller's stack) until then. An exception from any item is rethrown here after the others finish.
    /// </summary>
    public void For(int itemCount, delegate*<void*, int, void> body, void* state)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (itemCount == 0)
        {
            return;
        }
        if (_workers.Length == 0 || itemCount == 1)
        {
            for (int i = 0; i < itemCount; i++)
            {
                body(state, i);
            }
            return;
        }
        _callGate.Wait();
        try
        {
            _body = body;
            _state = state;
            _itemCount = itemCount;
            _nextItem = 0;
            _failure = null;
            _pending = _workers.Length;
            lock (_gate)
            {
                _generation++;
                Monitor.PulseAll(_gate);
            }
            RunItems();
            // Wait for the workers: spin briefly (kernel calls are short), then yield.
            var spinner = new SpinWait();
            while (Volatile.Read(ref _pending) != 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            _body = null;
            _state = null;
            if (_failure is { } failure)
            {
                throw new AggregateException("A kernel work item failed.", failure);
            }
        }
        finally
        {
            _callGate.Release();
        }
    }

    private void RunItems()
    {
        var body = _body;
        var state = _state;
        int count = _itemCount;
        while (true)
        {
            int item = Interlocked.Increment(ref _nextItem) - 1;
            if (item >= count)
            {
                return;
            }
            try
            {
                body(state, item);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref _failure, ex, null);
            }
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            // Spin a little for the next generation before blocking: back-to-back kernel calls (one per layer) then
            // never pay a kernel wake-up.
            long generation = Volatile.Read(ref _generation);
            if (generation == seen)
            {
                for (int spin = 0; spin < 20000 && (generation = Volatile.Read(ref _generation)) == seen && !_disposed; spin++)
                {
                    Thread.SpinWait(20);
                }
            }
            if (generation == seen)
            {
                lock (_gate)
                {
                    while (_generation == seen && !_disposed)
                    {
                        Monitor.Wait(_gate);
                    }
                    generation = _generation;
                }
            }
            if (_disposed)
            {
                return;
            }
            seen = generation;
            RunItems();
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }
}
