using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using KernelGen.Gpu.Generated;
using KernelGen.Kernels;

namespace KernelGen.Gpu.Tests;

[Collection(BackendCollection.Name)]
public sealed class GpuBackendTests
{
    private readonly Backends _backends;

    public GpuBackendTests(Backends backends) => _backends = backends;

    [Fact]
    public void Enumeration_always_includes_the_cpu_accelerator_and_orders_cuda_first()
    {
        Assert.Contains(_backends.All, b => b.Kind == GpuBackendKind.Cpu);
        var kinds = _backends.All.Select(b => b.Kind).ToList();
        Assert.Equal(kinds.Order().ToList(), kinds);
    }

    [Fact]
    public void Create_picks_cuda_then_opencl_then_cpu_and_says_which()
    {
        using var backend = GpuBackend.Create();
        var best = _backends.All.Min(b => b.Kind);
        Assert.Equal(best, backend.Kind);
        Assert.False(string.IsNullOrWhiteSpace(backend.DeviceName));
        Assert.Contains(backend.Kind.ToString(), backend.Description, StringComparison.Ordinal);
        Assert.Contains(backend.SelectionLog, line => line.Contains("selected", StringComparison.Ordinal));
    }

    [Fact]
    public void A_backend_can_be_forced()
    {
        using var cpu = GpuBackend.Create(GpuBackendKind.Cpu);
        Assert.Equal(GpuBackendKind.Cpu, cpu.Kind);
        if (!_backends.All.Any(b => b.Kind == GpuBackendKind.Cuda))
        {
            var ex = Assert.Throws<InvalidOperationException>(() => GpuBackend.Create(GpuBackendKind.Cuda));
            Assert.Contains("Cuda", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(GpuBackendKind.OpenCL, GpuBackend.ParseForce("OpenCL"));
        Assert.Null(GpuBackend.ParseForce("auto"));
        Assert.Throws<ArgumentException>(() => GpuBackend.ParseForce("tpu"));
    }

    [Fact]
    public void Format_lookup_is_by_name_like_the_cpu_side()
    {
        Assert.True(GpuBackend.IsSupported("q4_k"));
        Assert.False(GpuBackend.IsSupported("GPTQ"));
        Assert.Equal(12, KernelGenGpuRegistry.Find("Q4_K")!.GgmlTypeId);
        Assert.Equal("Q6_K", KernelGenGpuRegistry.FindByGgmlTypeId(14)!.Name);
        var cpu = _backends.All.First(b => b.Kind == GpuBackendKind.Cpu);
        Assert.Same(cpu.GetKernels("Q4_K"), cpu.GetKernels("q4_k"));
        Assert.Throws<NotSupportedException>(() => cpu.GetKernels("GPTQ"));
    }

    [Fact]
    public void Device_calls_run_asynchronously_until_synchronize()
    {
        var backend = _backends.All.First(b => b.Kind == GpuBackendKind.Cpu);
        const int k = 256, n = 5;
        var rng = new Random(7);
        var f = GpuKernelTests.RandomFloats(n * k, rng);
        var rows = new byte[Quantizer.QuantizedBytes("Q4_K", n * k)];
        Quantizer.Quantize("Q4_K", f, rows);
        using var m = backend.Upload("Q4_K", rows, k, n);
        Assert.Equal(rows.Length, m.WeightBytes);
        var x = GpuKernelTests.RandomFloats(k, rng);
        using var xd = backend.Allocate(x);
        using var yd = backend.Allocate<float>(n);
        m.MatVecDevice(xd.View, yd.View);
        m.Synchronize();
        var viaDevice = yd.GetAsArray1D();
        var viaHost = new float[n];
        m.MatVec(x, viaHost);
        Assert.Equal(viaHost, viaDevice);
    }

    [Fact]
    public void Launchers_reject_inconsistent_shapes()
    {
        var backend = _backends.All.First(b => b.Kind == GpuBackendKind.Cpu);
        Assert.Throws<ArgumentException>(() => backend.Upload("Q4_0", new byte[18 * 3], 48, 2));
        using var m = backend.Upload("Q4_0", new byte[18 * 4], 64, 2);
        Assert.Throws<ArgumentException>(() => m.MatVec(new float[63], new float[2]));
        Assert.Throws<ArgumentException>(() => m.MatMul(new float[128], 2, new float[3]));
    }

    /// <summary>
    /// Every format's kernels compile to PTX with ILGPU's CUDA backend, with no GPU needed: this catches kernel code ILGPU
    /// cannot translate (classes, exceptions, unsupported calls) on machines where only the CPU accelerator runs.
    /// </summary>
    [Fact]
    public void Every_kernel_compiles_to_ptx()
    {
        using var context = Context.Create(b => b.Default().Cuda().EnableAlgorithms());
        using var ptx = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
        var assembly = typeof(GpuBackend).Assembly;
        int compiled = 0;
        foreach (var format in KernelGenGpuRegistry.Formats)
        {
            var type = assembly.GetType($"KernelGen.Gpu.Generated.{format.Name}Gpu", throwOnError: true)!;
            var dequantize = type.GetMethod("DequantizeKernel", BindingFlags.Public | BindingFlags.Static)!;
            var entries = new[]
            {
                EntryPointDescription.FromImplicitlyGroupedKernel(dequantize),
                EntryPointDescription.FromExplicitlyGroupedKernel(type.GetMethod("MatVecKernel", BindingFlags.Public | BindingFlags.Static)!),
                EntryPointDescription.FromExplicitlyGroupedKernel(type.GetMethod("MatMulKernel", BindingFlags.Public | BindingFlags.Static)!),
            };
            foreach (var entry in entries)
            {
                var kernel = (PTXCompiledKernel)ptx.Compile(entry, default);
                Assert.Contains(".entry", kernel.PTXAssembly, StringComparison.Ordinal);
                compiled++;
            }
        }
        Assert.Equal(3 * KernelGenGpuRegistry.Formats.Count, compiled);
    }
}
