namespace KernelGen.Gpu.Tests;

/// <summary>
/// Every accelerator present, created once for the test run: ILGPU's CPU accelerator always, plus each CUDA and
/// OpenCL device. Every correctness test runs its whole body on each of them (one corpus, every backend), so nothing is
/// skipped on a machine without a GPU and nothing is left out on one with a GPU.
/// </summary>
public sealed class Backends : IDisposable
{
    public Backends()
    {
        All = GpuBackend.CreateAll(out var skipped);
        Skipped = skipped;
    }

    public IReadOnlyList<GpuBackend> All { get; }

    public IReadOnlyList<string> Skipped { get; }

    public void Dispose()
    {
        foreach (var b in All)
        {
            b.Dispose();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BackendCollection : ICollectionFixture<Backends>
{
    public const string Name = "ILGPU accelerators";
}
