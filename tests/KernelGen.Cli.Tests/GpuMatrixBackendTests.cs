using System.Buffers.Binary;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using KernelGen.Cli.Benchmarks;
using KernelGen.Gpu;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Tests.Cli;

/// <summary>
/// <see cref="GpuMatrixBackend"/> in-process, on the accelerator <see cref="GpuBackend.Create(GpuBackendKind?)"/> picks
/// (ILGPU's CPU accelerator on a machine without a GPU): the act-order input permutation, copy counts, and the read
/// probe (which must also compile for CUDA, checked with ILGPU's PTX backend with no GPU needed).
/// </summary>
public class GpuMatrixBackendTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ActOrderGptqLayerIsPermutedOnTheHost(int batch)
    {
        const int k = 256, n = 48, group = 32;
        var layout = new GPTQLayout(n, k, 4, group, GPTQCheckpoint.Gptq);
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
        Quantizer.QuantizeGptq(MatrixWeights.RandomRows(n, k, seed: 3), layout, symmetric: true, qweight, qzeros, scales, Span<byte>.Empty);
        // Act-order: input j belongs to group (7j mod K) / 32, so groups are scattered over the inputs.
        var gIdx = new byte[layout.GIdxBytes];
        for (int j = 0; j < k; j++) BinaryPrimitives.WriteInt32LittleEndian(gIdx.AsSpan(4 * j), j * 7 % k / group);
        var layer = new GptqLayer("GPTQ4-g32", layout, qweight, qzeros, scales, gIdx);
        var matrix = MatrixRepack.FromLayer(layer);
        Assert.False(matrix.InputOrder.IsEmpty);

        using var backend = GpuMatrixBackend.Create();
        var x = MatrixWeights.RandomActivations(batch, k, seed: 5);
        using var session = backend.Open([matrix, matrix.Clone()], x, batch);
        var y = new float[batch * n];
        session.Run(1);
        session.ReadOutput(y);
        double error = MatrixError.MaxRelative((row, dst) => layer.DecodeRows(row, 1, dst.Slice(0, k)), k, n, x, batch, y, Enumerable.Range(0, n).ToArray());
        Assert.True(error < 1e-5, $"max_rel_error {error}");
    }

    [Fact]
    public void BackendReportsItsDeviceAndHonestCopies()
    {
        using var backend = (GpuMatrixBackend)GpuMatrixBackend.Create();
        Assert.Equal("gpu", backend.Name);
        Assert.StartsWith("ILGPU ", backend.Description, StringComparison.Ordinal);
        Assert.Contains(backend.Gpu.DeviceName, backend.Description, StringComparison.Ordinal);
        Assert.Equal(1, backend.CopyCount(1 << 20, cold: false));
        int cold = backend.CopyCount(1 << 20, cold: true);
        if (backend.IsCpuAccelerator) Assert.Equal(1, cold);
        else Assert.True(cold * (1L << 20) >= 4 * backend.CacheBytes && cold >= 2, $"{cold} copies for L2 {backend.CacheBytes}");
        Assert.False(backend.NeedsJitWarmUp);
    }

    [Fact]
    public void ReadProbeMeasuresOnTheDevice()
    {
        using var gpu = GpuBackend.Create(GpuBackendKind.Cpu);
        using var probe = new GpuReadBandwidth(gpu.Accelerator, 1 << 20);
        Assert.Equal(1 << 20, probe.Bytes);
        double gbps = probe.ReadGBps();
        Assert.True(gbps > 0 && double.IsFinite(gbps), $"{gbps} GB/s");
    }

    [Fact]
    public void ReadProbeCompilesToPtx()
    {
        using var context = Context.Create(b => b.Default().Cuda());
        using var ptx = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
        var method = typeof(GpuReadBandwidth).GetMethod("ReadKernel", BindingFlags.NonPublic | BindingFlags.Static)!;
        var kernel = (PTXCompiledKernel)ptx.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(method), default);
        Assert.Contains(".entry", kernel.PTXAssembly, StringComparison.Ordinal);
        // The 8-byte data loads (ILGPU emits generic-address loads: ld.b64).
        Assert.Matches(@"\sld(\.global)?\.b64\s", kernel.PTXAssembly);
    }
}
