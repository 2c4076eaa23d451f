using KernelGen.Containers;
using KernelGen.Conversion.Tensors;

namespace KernelGen.Conversion.Verification;

/// <summary>How one tensor of model A compares with its counterpart in model B.</summary>
public sealed record TensorComparison(string Name, string TypeA, string TypeB, IReadOnlyList<long> Shape, TensorError Error, bool WithinTolerance);

/// <summary>
/// Compares two models tensor by tensor (<c>kernelgen verify</c>): tensors are matched by name under
/// <see cref="CanonicalTensors"/> (so a GGUF and a Hugging Face folder of the same model line up), both sides are
/// decoded to float32 row by row, and each pair is reported as bit-exact or with its max-abs, RMS and relative error.
/// </summary>
public static class ModelComparison
{
    public sealed record Result(IReadOnlyList<TensorComparison> Tensors, IReadOnlyList<string> OnlyInA, IReadOnlyList<string> OnlyInB)
    {
        public bool Passed => OnlyInA.Count == 0 && OnlyInB.Count == 0 && Tensors.All(t => t.WithinTolerance);
    }

    /// <summary>Compares <paramref name="a"/> with <paramref name="b"/>; <paramref name="tolerance"/> is the largest allowed relative RMS error per tensor (0 demands bit-exact equality).</summary>
    public static Result Compare(IModelContainer a, IModelContainer b, double tolerance, CancellationToken cancellation = default)
    {
        var left = CanonicalTensors.Enumerate(a);
        var right = CanonicalTensors.Enumerate(b).ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        var results = new List<TensorComparison>();
        var onlyA = new List<string>();
        foreach (var (name, ta) in left)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!right.Remove(name, out var tb)) { onlyA.Add(name); continue; }
            if (!ta.Shape.SequenceEqual(tb.Shape))
                throw new NotSupportedException($"tensor '{name}' is [{string.Join(", ", ta.Shape)}] in one model and [{string.Join(", ", tb.Shape)}] in the other");
            var error = new TensorErrorAccumulator();
            int rows = ta.RowsPerChunk();
            var xa = new float[rows * ta.RowLength];
            var xb = new float[rows * ta.RowLength];
            for (long r = 0; r < ta.RowCount; r += rows)
            {
                int n = (int)Math.Min(rows, ta.RowCount - r);
                int count = (int)(n * ta.RowLength);
                ta.ReadRows(r, n, xa);
                tb.ReadRows(r, n, xb);
                error.Add(xa.AsSpan(0, count), xb.AsSpan(0, count));
            }
            var e = error.Result;
            results.Add(new TensorComparison(name, ta.StorageType, tb.StorageType, ta.Shape, e, e.BitExact || (tolerance > 0 && e.Relative <= tolerance)));
        }
        return new Result(results, onlyA, right.Keys.Order(StringComparer.Ordinal).ToList());
    }
}
