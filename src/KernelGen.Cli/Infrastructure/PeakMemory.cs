namespace KernelGen.Cli.Infrastructure;

/// <summary>
/// Reports the process's peak resident memory when KERNELGEN_REPORT_PEAK_RSS=1, so tests and benchmarks can check
/// that opening a huge file costs no more than its header (Linux: VmHWM from /proc/self/status).
/// </summary>
public static class PeakMemory
{
    public const string EnvironmentVariable = "KERNELGEN_REPORT_PEAK_RSS";

    /// <summary>Peak resident set size in bytes, or null where the OS does not say.</summary>
    public static long? PeakResidentBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        foreach (string line in File.ReadLines(status))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 2 && long.TryParse(parts[1], out long kb) ? kb * 1024 : null;
        }
        return null;
    }

    /// <summary>
    /// Anonymous resident memory (heap, buffers) now, in bytes: RSS without the file-backed pages of memory-mapped
    /// inputs, which the kernel can drop at any time (Linux: RssAnon).
    /// </summary>
    public static long? AnonymousResidentBytes() => StatusKilobytes("RssAnon:") is long kb ? kb * 1024 : null;

    private static long? StatusKilobytes(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        foreach (string line in File.ReadLines(status))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 2 && long.TryParse(parts[1], out long kb) ? kb : null;
        }
        return null;
    }

    /// <summary>Samples <see cref="AnonymousResidentBytes"/> every few milliseconds while <paramref name="work"/> runs; returns the peak.</summary>
    public static long? PeakAnonymousDuring(Action work)
    {
        long peak = AnonymousResidentBytes() ?? -1;
        using var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.Wait(10))
                if (AnonymousResidentBytes() is long now && now > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, now);
        }) { IsBackground = true };
        sampler.Start();
        try
        {
            work();
        }
        finally
        {
            done.Set();
            sampler.Join();
        }
        return peak < 0 ? null : peak;
    }

    public static void ReportIfRequested(TextWriter stderr)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1") return;
        long? peak = PeakResidentBytes();
        stderr.WriteLine(peak is long p ? $"peak-rss-bytes: {p}" : "peak-rss-bytes: unknown");
    }
}
