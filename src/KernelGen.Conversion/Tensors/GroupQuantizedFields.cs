namespace KernelGen.Conversion.Tensors;

/// <summary>
/// A group-quantized linear layer in checkpoint-neutral form: <c>W[n, k] = Scales[n, g(k)] · (Codes[n, k] − Zeros[n, g(k)])</c>
/// with fp16 scales (raw bits) and true zero points (no GPTQ v1 offset). Repacks between GPTQ, AWQ and GGUF go
/// through this, so the codes and scales move unchanged.
/// </summary>
/// <param name="OutFeatures">N, rows of the nn.Linear weight.</param>
/// <param name="InFeatures">K, columns.</param>
/// <param name="Bits">Code width.</param>
/// <param name="GroupSize">Inputs per group; K for a single group.</param>
/// <param name="Codes">Codes, <c>[n * K + k]</c>.</param>
/// <param name="Zeros">True zero points, <c>[n * GroupCount + g]</c>.</param>
/// <param name="Scales">fp16 scale bits, <c>[n * GroupCount + g]</c>.</param>
/// <param name="GroupOf">The group of each input k (act-order when not <c>k / GroupSize</c>).</param>
public sealed record GroupQuantizedFields(int OutFeatures, int InFeatures, int Bits, int GroupSize, int[] Codes, int[] Zeros, ushort[] Scales, int[] GroupOf)
{
    public int GroupCount => (InFeatures + GroupSize - 1) / GroupSize;

    /// <summary>True when input k belongs to group k / GroupSize for every k (no act-order permutation).</summary>
    public bool HasTrivialGroups
    {
        get
        {
            for (int k = 0; k < InFeatures; k++)
                if (GroupOf[k] != k / GroupSize) return false;
            return true;
        }
    }

    /// <summary>True when every zero point equals <paramref name="zero"/> (a symmetric checkpoint).</summary>
    public bool AllZerosAre(int zero) => Array.TrueForAll(Zeros, z => z == zero);
}
