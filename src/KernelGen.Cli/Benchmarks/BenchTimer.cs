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
