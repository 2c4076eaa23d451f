using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.Tests.Threading;

/// <summary>The persistent pool the kernels run on: every item exactly once, failures surfaced, reuse across calls.</summary>
public sealed unsafe class KernelThreadPoolTests
{
    private struct Counts
    {
        public int* Hits;
        public int ThrowAt;
    }

    private static void Count(void* state, int item)
    {
        ref Counts c = ref *(Counts*)state;
        if (item == c.ThrowAt)
        {
            throw new InvalidOperationException($"item {item} failed");
        }
        Interlocked.Increment(ref c.Hits[item]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1000)]
    [InlineData(4, 7)]
    public void EveryItemRunsExactlyOnceOnEveryCall(int threads, int items)
    {
        using var pool = new KernelThreadPool(threads);
        var hits = new int[items];
        fixed (int* p = hits)
        {
            var counts = new Counts { Hits = p, ThrowAt = -1 };
            for (int call = 1; call <= 50; call++)
            {
                pool.For(items, &Count, &counts);
                Assert.All(hits, h => Assert.Equal(call, h));
            }
        }
    }

    [Fact]
    public void AFailingItemIsRethrownAfterTheOthersFinish()
    {
        using var pool = new KernelThreadPool(3);
        var hits = new int[200];
        fixed (int* p = hits)
        {
            var counts = new Counts { Hits = p, ThrowAt = 17 };
            AggregateException? caught = null;
            try
            {
                pool.For(hits.Length, &Count, &counts);
            }
            catch (AggregateException ex)
            {
                caught = ex;
            }
            Assert.NotNull(caught);
            Assert.Contains("item 17 failed", caught!.InnerException!.Message, StringComparison.Ordinal);
            Assert.Equal(199, hits.Sum());
            // The pool is still usable afterwards.
            counts.ThrowAt = -1;
            pool.For(hits.Length, &Count, &counts);
            Assert.Equal(399, hits.Sum());
        }
    }

    [Fact]
    public void ADisposedPoolRefusesWork()
    {
        var pool = new KernelThreadPool(2);
        pool.Dispose();
        var hits = new int[4];
        fixed (int* p = hits)
        {
            var counts = new Counts { Hits = p, ThrowAt = -1 };
            bool refused = false;
            try
            {
                pool.For(hits.Length, &Count, &counts);
            }
            catch (ObjectDisposedException)
            {
                refused = true;
            }
            Assert.True(refused);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new KernelThreadPool(0));
    }
}
