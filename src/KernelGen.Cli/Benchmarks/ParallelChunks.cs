namespace KernelGen.Cli.Benchmarks;

/// <summary>Splits <c>[0, length)</c> into one contiguous chunk per thread (aligned to <c>granule</c>) and runs them on dedicated threads.</summary>
public static class ParallelChunks
{
    public static void Run(int threads, long length, long granule, Action<long, long> chunk)
    {
        if (threads <= 1)
        {
            chunk(0, length);
            return;
        }
        long per = (length / threads + granule - 1) / granule * granule;
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            long start = Math.Min(length, t * per), count = Math.Min(per, length - start);
            workers[t] = new Thread(() => chunk(start, count)) { IsBackground = true };
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();
    }
}
