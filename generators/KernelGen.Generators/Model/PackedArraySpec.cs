using KernelGen.Generators.Helpers;

namespace KernelGen.Generators.Model;

/// <summary>How one piece of a packed value is stored.</summary>
internal enum PieceKind
{
    /// <summary><c>field[a..b] bits lo..hi</c>: value i of the run is bits lo..hi of byte a+i of the field.</summary>
    Bits,

    /// <summary><c>field as uW[a..b]</c>: value i of the run is the W-bit slot a+i of the field read as a little-endian bit string.</summary>
    Stream,

    /// <summary><c>field[a..b] trit n</c>: value i of the run is base-3 digit n (0 = most significant) of byte a+i, ggml's fixed-point TQ1_0 packing.</summary>
    Trit,
}

/// <summary>
/// One piece of a run: where bits of consecutive values come from, and where they land in the value
/// (<see cref="DestShift"/>). For <see cref="PieceKind.Trit"/> the piece yields 0..2 and <see cref="Width"/> is 2.
/// </summary>
internal sealed record PieceSpec(PieceKind Kind, string Field, int FieldOffset, int First, int BitLow, int Width, int DestShift, int Digit)
{
    /// <summary>Absolute placement (within the block) of the piece for value <paramref name="i"/> of its run.</summary>
    public BitPlacement PlacementOf(int i)
    {
        switch (Kind)
        {
            case PieceKind.Stream:
                int bit = (First + i) * Width;
                return new BitPlacement(PieceKind.Stream, FieldOffset + bit / 8, bit % 8, Width, DestShift, 0);
            case PieceKind.Trit:
                return new BitPlacement(PieceKind.Trit, FieldOffset + First + i, 0, 2, DestShift, Digit);
            default:
                return new BitPlacement(PieceKind.Bits, FieldOffset + First + i, BitLow, Width, DestShift, 0);
        }
    }
}

/// <summary>
/// The resolved storage of one piece of one value: bits <c>Shift..Shift+Width-1</c> of the little-endian bit string
/// that starts at block byte <c>Byte</c> (may run into the next bytes), or base-3 digit <c>Digit</c> of that byte;
/// placed at bit <c>DestShift</c> of the value. This is the per-element (byte, shift, width) view kernel emitters use.
/// </summary>
internal readonly record struct BitPlacement(PieceKind Kind, int Byte, int Shift, int Width, int DestShift, int Digit);

/// <summary>One run line: values <c>First..First+Count-1</c> = OR of the pieces.</summary>
internal sealed record RunSpec(int First, int Count, EquatableArray<PieceSpec> Pieces, int Line);

/// <summary>
/// A logical integer array unpacked from block bytes: the per-element quants (<c>quant q : u4</c>, group size 1) or
/// per-group sub-scales/mins (<c>scale sc : u6 per 32</c>).
/// </summary>
internal sealed record PackedArraySpec(string Name, bool IsSigned, int Bits, int GroupSize, int Count, EquatableArray<RunSpec> Runs)
{
    public bool IsPerElement => GroupSize == 1;

    /// <summary>C# element type of the unpacked value in the logical block struct.</summary>
    public string CSharpElementType => (Bits, IsSigned) switch
    {
        ( <= 8, false) => "byte",
        ( <= 8, true) => "sbyte",
        ( <= 16, false) => "ushort",
        ( <= 16, true) => "short",
        (_, false) => "uint",
        _ => "int",
    };

    /// <summary>The run that defines value <paramref name="index"/> and the index inside it.</summary>
    public (RunSpec Run, int Offset) Locate(int index)
    {
        foreach (var run in Runs)
        {
            if (index >= run.First && index < run.First + run.Count)
            {
                return (run, index - run.First);
            }
        }
        throw new System.ArgumentOutOfRangeException(nameof(index));
    }

    /// <summary>All pieces of value <paramref name="index"/>, resolved to block-absolute placements.</summary>
    public BitPlacement[] PlacementOf(int index)
    {
        var (run, i) = Locate(index);
        var result = new BitPlacement[run.Pieces.Count];
        for (int p = 0; p < result.Length; p++)
        {
            result[p] = run.Pieces[p].PlacementOf(i);
        }
        return result;
    }
}

/// <summary><c>codebook NAME : TYPE[N] = { ... }</c>: a lookup table indexed by a quant (IQ4_NL's kvalues).</summary>
internal sealed record CodebookSpec(string Name, ScalarKind Type, EquatableArray<long> Values);
