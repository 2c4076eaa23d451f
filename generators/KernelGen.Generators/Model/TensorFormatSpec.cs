using KernelGen.Generators.Helpers;

namespace KernelGen.Generators.Model;

/// <summary>
/// The semantic model of a tensor-level spec (<c>layout linear</c>): a packed <c>nn.Linear</c> weight
/// <c>W[n, k]</c> (n = output feature 0..N-1, k = input feature 0..K-1) stored in several tensors (GPTQ, AWQ, BitNet).
/// Dimensions N and K and the declared parameters are run-time values (a generated <c>…Layout</c> struct); everything
/// else (tensor shapes, which tensor holds which (n, k) at which bit field, the group map, the value formula) is
/// declared here. Value-equatable like <see cref="FormatSpec"/>.
/// </summary>
internal sealed record TensorFormatSpec(
    string Name,
    string SourcePath,
    EquatableArray<ParamSpec> Params,
    EquatableArray<SizeSpec> Sizes,
    EquatableArray<SizeSpec> Indices,
    EquatableArray<TensorSpec> Tensors,
    GroupSpec? Group,
    EquatableArray<TensorArraySpec> Arrays,
    EquatableArray<LetSpec> Lets,
    EquatableArray<WarnSpec> Warnings,
    EquatableArray<string> HeaderComment)
{
    /// <summary>Period value of a formula node constant over the whole tensor (params, sizes, per-tensor scales).</summary>
    public const int TensorPeriod = 4;

    /// <summary>Period value of a node constant within one (n, group) pair.</summary>
    public const int GroupPeriod = 2;

    /// <summary>Period value of a per-element node.</summary>
    public const int ElementPeriod = 1;

    public TensorArraySpec? FindArray(string name)
    {
        foreach (var a in Arrays)
        {
            if (a.Name == name)
            {
                return a;
            }
        }
        return null;
    }

    public TensorSpec? FindTensor(string name)
    {
        foreach (var t in Tensors)
        {
            if (t.Name == name)
            {
                return t;
            }
        }
        return null;
    }

    public ParamSpec? FindParam(string name)
    {
        foreach (var p in Params)
        {
            if (p.Name == name)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>The distinct storage buffers in declaration order (each becomes one span parameter).</summary>
    public EquatableArray<string> Buffers
    {
        get
        {
            var list = new System.Collections.Generic.List<string>();
            foreach (var t in Tensors)
            {
                if (!list.Contains(t.Buffer))
                {
                    list.Add(t.Buffer);
                }
            }
            return list.ToEquatableArray();
        }
    }

    public LetSpec Result => Lets[Lets.Count - 1];
}

internal enum ParamKind
{
    /// <summary><c>param bits in {2, 3, 4, 8}</c>: an int from a fixed set.</summary>
    IntSet,

    /// <summary><c>param group_size : int &gt;= 1 or -1 = K</c>: an int with a minimum and an optional sentinel.</summary>
    IntRange,

    /// <summary><c>param checkpoint in {gptq, gptq_v2}</c>: a named choice (a C# enum); usable only in <c>when</c> guards.</summary>
    Enum,
}

/// <summary>A run-time parameter of a tensor-level format.</summary>
internal sealed record ParamSpec(string Name, ParamKind Kind, EquatableArray<long> IntValues, EquatableArray<string> EnumValues, long Min, long? Sentinel, ExprSpec? SentinelValue)
{
    public long MaxIntValue
    {
        get
        {
            long max = long.MinValue;
            foreach (var v in IntValues)
            {
                max = System.Math.Max(max, v);
            }
            return Kind == ParamKind.IntSet ? max : int.MaxValue;
        }
    }
}

/// <summary><c>size NAME = expr</c> (tensor-level int) or <c>index NAME = expr</c> (per element, over n and k).</summary>
internal sealed record SizeSpec(string Name, ExprSpec Value);

/// <summary>
/// <c>tensor NAME : TYPE[d0, d1] [optional] [in BUFFER @ OFFSET]</c>. Without <c>in</c> the tensor is its own buffer
/// (named like the tensor). Rank 1 or 2, row-major, little-endian.
/// </summary>
internal sealed record TensorSpec(string Name, ScalarKind Type, EquatableArray<ExprSpec> Shape, bool Optional, string Buffer, ExprSpec? Offset);

/// <summary>
/// <c>group g = TENSOR[k] else expr</c> or <c>group g = expr</c>: the quantization group of input k. When the primary
/// form reads an optional tensor and the caller passes none, the fallback applies.
/// </summary>
internal sealed record GroupSpec(string Name, string? Tensor, ExprSpec Primary, ExprSpec? Fallback)
{
    /// <summary>The number of groups (a size expression); group values must lie in 0..Count-1.</summary>
    public ExprSpec Count { get; init; } = null!;
}

internal enum ArrayLevel
{
    Element,
    Group,
    Tensor,
}

/// <summary>
/// Where the values of one logical array live: <c>TENSOR[sel, sel] [as uW[slot]] [interleave {…}]</c>. A null selector
/// (<see cref="StreamSelector"/>) is <c>:</c>, the dimension a bit stream runs along. <see cref="SlotWidth"/> 0 reads the whole element.
/// </summary>
internal sealed record PlacementSpec(
    string Tensor,
    EquatableArray<ExprSpec> Selectors,
    int SlotWidth,
    string? SlotWidthParam,
    ExprSpec? Slot,
    EquatableArray<int> Interleave,
    int Line)
{
    public bool IsStream
    {
        get
        {
            foreach (var s in Selectors)
            {
                if (s is StreamSelector)
                {
                    return true;
                }
            }
            return false;
        }
    }

    public bool HasSlot => Slot is not null;
}

/// <summary>
/// A logical array of a tensor-level format: per element (<c>quant</c>, indexed [n, k]), per group (<c>scale … per
/// group</c>, [n, g]) or per tensor (<c>scale … per tensor</c>). Integer arrays have a bit width (constant or a
/// parameter); float arrays keep their storage type (f16/bf16 raw bits, f32).
/// </summary>
internal sealed record TensorArraySpec(
    string Name,
    ArrayLevel Level,
    bool IsFloat,
    ScalarKind FloatType,
    bool IsSigned,
    int Bits,
    string? BitsParam,
    PlacementSpec Placement)
{
    public int Period => Level switch
    {
        ArrayLevel.Element => TensorFormatSpec.ElementPeriod,
        ArrayLevel.Group => TensorFormatSpec.GroupPeriod,
        _ => TensorFormatSpec.TensorPeriod,
    };

    /// <summary>C# element type of the logical array in DecodeFields/Encode.</summary>
    public string CSharpType => !IsFloat ? "int" : FloatType == ScalarKind.F32 ? "float" : "ushort";
}

/// <summary><c>warn EXPR [when P == V] "message"</c>: the checkpoint is damaged where EXPR is non-zero.</summary>
internal sealed record WarnSpec(ExprSpec Condition, string Message, int Line);

/// <summary>A tensor-level name: parameter, dimension (N, K), size, index variable (n, k, g) or named index.</summary>
internal sealed record TensorName(string Name, TensorNameKind Kind) : ExprSpec;

internal enum TensorNameKind
{
    Param,
    Dim,
    Size,
    Var,
    Index,
}

/// <summary><c>TENSOR[index]</c> read of a 1-D integer tensor as a whole element (the group map <c>g_idx[k]</c>).</summary>
internal sealed record TensorLookup(string Tensor, ExprSpec Index) : ExprSpec;

/// <summary>A guarded definition: <c>Then</c> when parameter <c>Param</c> equals <c>Value</c> (enum ordinal or int), else <c>Else</c>.</summary>
internal sealed record Select(string Param, long Value, ExprSpec Then, ExprSpec Else) : ExprSpec;

/// <summary>The <c>:</c> selector of a placement: the dimension a bit stream runs along.</summary>
internal sealed record StreamSelector : ExprSpec;
