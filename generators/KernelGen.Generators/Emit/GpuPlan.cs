using System.Collections.Generic;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit;

/// <summary>
/// How a block format is split into GPU work items. A block is cut into equal aligned <em>chunks</em> of
/// <see cref="Chunk"/> elements such that every chunk lies inside one run of every quant and one group of every scale,
/// and every non-element formula line is constant over it. A work item decodes one chunk with straight-line code:
/// per-block values once, the chunk's group values once, then a loop over its elements whose byte offsets are
/// constants plus the loop index. Derived entirely from the spec model.
/// </summary>
internal sealed class GpuPlan
{
    /// <summary>Largest chunk: 32 elements keeps enough work items per row for a warp on typical K.</summary>
    public const int MaxChunk = 32;

    private GpuPlan(FormatSpec spec)
    {
        Spec = spec;
    }

    public FormatSpec Spec { get; }

    /// <summary>Elements per chunk (divides the block, every run boundary, every group size and every period).</summary>
    public int Chunk { get; private set; }

    public int ChunksPerBlock => Spec.BlockElements / Chunk;

    /// <summary>Scalar fields the formula reads (decoded once per block).</summary>
    public List<FieldSpec> Fields { get; } = new();

    /// <summary>Referenced per-element quants (read per element inside the chunk loop).</summary>
    public List<PackedArraySpec> ElementArrays { get; } = new();

    /// <summary>Referenced per-group scales (read once per chunk).</summary>
    public List<PackedArraySpec> GroupArrays { get; } = new();

    /// <summary>Formula lines constant over the block (not <c>y</c>).</summary>
    public List<LetSpec> BlockLets { get; } = new();

    /// <summary>Formula lines constant over a chunk but not the block.</summary>
    public List<LetSpec> ChunkLets { get; } = new();

    /// <summary>Formula lines evaluated per element (always ends with <c>y</c>).</summary>
    public List<LetSpec> ElementLets { get; } = new();

    public static GpuPlan Create(FormatSpec spec)
    {
        var plan = new GpuPlan(spec);
        var usedNames = new HashSet<string>();
        foreach (var let in spec.Lets)
        {
            CollectPacked(let.Value, usedNames);
        }
        int chunk = Gcd(spec.BlockElements, MaxChunk);
        foreach (var array in spec.Arrays)
        {
            if (!usedNames.Contains(array.Name))
            {
                continue;
            }
            if (array.IsPerElement)
            {
                plan.ElementArrays.Add(array);
                foreach (var run in array.Runs)
                {
                    chunk = Gcd(chunk, run.First);
                    chunk = Gcd(chunk, run.Count);
                }
            }
            else
            {
                plan.GroupArrays.Add(array);
                chunk = Gcd(chunk, array.GroupSize);
            }
        }
        foreach (var let in spec.Lets)
        {
            if (let.Value.Period > 1)
            {
                chunk = Gcd(chunk, let.Value.Period);
            }
        }
        plan.Chunk = chunk;

        var usedFields = new HashSet<string>();
        foreach (var let in spec.Lets)
        {
            FormatEmitter.CollectFieldRefs(let.Value, usedFields);
        }
        foreach (var f in spec.Fields)
        {
            if (usedFields.Contains(f.Name))
            {
                plan.Fields.Add(f);
            }
        }
        foreach (var let in spec.Lets)
        {
            bool isResult = let.Name == "y";
            if (!isResult && let.Value.Period == spec.BlockElements)
            {
                plan.BlockLets.Add(let);
            }
            else if (!isResult && let.Value.Period >= chunk && chunk > 1)
            {
                plan.ChunkLets.Add(let);
            }
            else
            {
                plan.ElementLets.Add(let);
            }
        }
        return plan;
    }

    private static void CollectPacked(ExprSpec e, HashSet<string> used)
    {
        switch (e)
        {
            case NameRef { Kind: NameKind.Packed } n: used.Add(n.Name); break;
            case CodebookLookup l: CollectPacked(l.Index, used); break;
            case ToFloat c: CollectPacked(c.Operand, used); break;
            case Negate n: CollectPacked(n.Operand, used); break;
            case Binary b: CollectPacked(b.Left, used); CollectPacked(b.Right, used); break;
        }
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
