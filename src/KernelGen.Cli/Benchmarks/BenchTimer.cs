using System.Diagnostics;

namespace KernelGen.Cli.Benchmarks;

/// <summary>Times an action: warm-up runs first (page faults and JIT tiers are paid there), then the median of timed runs.</summary>
public static class BenchTimer
{
    /// <summary>Median seconds per call over <paramref name="runs"/> timed calls after <paramref name="warmup"/> untimed ones.</summary>
    public static double MedianSeconds(Action action, int runs, int warmup = 3)
    {
        for (int i = 0; i < warmup; i++) action();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }

    /// <summary>
    /// Seconds of each of <paramref name="runs"/> timed calls of <paramref name="action"/> (no warm-up: the caller
    /// warms up), sorted ascending, for medians and percentiles (<see cref="Percentile"/>).
    /// </summary>
    public static double[] SortedTimes(Action action, int runs)
    {
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return times;
    }

    /// <summary>The <paramref name="p"/>-quantile (0..1) of ascending <paramref name="sorted"/>, linearly interpolated (p = 0.5: the median).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) throw new ArgumentException("no samples", nameof(sorted));
        double position = p * (sorted.Count - 1);
        int low = (int)Math.Floor(position), high = Math.Min(sorted.Count - 1, low + 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /// <summary>Enough runs to fill about <paramref name="budgetSeconds"/>, between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public static int RunsFor(Action action, double budgetSeconds, int min = 5, int max = 201)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        double once = Math.Max(1e-7, Stopwatch.GetElapsedTime(start).TotalSeconds);
        int runs = (int)Math.Clamp(budgetSeconds / once, min, max);
        return runs | 1;
    }

    /// <summary>
    /// Calls <paramref name="action"/> (a small input) often enough, with pauses, for the tiered JIT to finish
    /// promoting the kernel to its optimized tier before anything is timed; without this the first format measured
    /// in a process runs partly on unoptimized code (measured: Q4_0 at half speed when listed first).
    /// </summary>
    public static void WarmUp(Action action, int rounds = 4, int calls = 50)
    {
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < calls; i++) action();
            Thread.Sleep(60);
        }
    }
}
