namespace KernelGen.Formats;

/// <summary>ggml tensor type ids, as stored in a GGUF tensor-info record (ggml.h <c>enum ggml_type</c>).</summary>
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
}

/// <summary>
/// The container-level facts of a ggml type: its name and block geometry. This is all a reader needs to size and
/// place tensors of any type, including types KernelGen cannot decode. (How a block decodes is the business of the
/// format specs in <c>formats/</c>; a test checks the two agree.)
/// </summary>
public readonly record struct GgmlTypeInfo(GgmlType Id, string Name, int BlockElements, int BlockBytes)
{
    /// <summary>Bytes of one row of <paramref name="elements"/> elements; the count must be a multiple of the block.</summary>
    public long RowBytes(long elements) => elements / BlockElements * BlockBytes;

    /// <summary>Bits per weight: <c>8 * bytes / elements</c> of one block.</summary>
    public double BitsPerWeight => 8.0 * BlockBytes / BlockElements;

    /// <summary>True for the block-quantized types (anything but the plain float and integer types).</summary>
    public bool IsQuantized => BlockElements > 1;

    private static readonly Dictionary<uint, GgmlTypeInfo> ById = new();
    private static readonly Dictionary<string, GgmlTypeInfo> ByName = new(StringComparer.OrdinalIgnoreCase);

    static GgmlTypeInfo()
    {
        // ggml.c type_traits[] at llama.cpp 34af94cd (see FORMATS.md §3.1). Removed ids (4, 5, 31-33, 36-38) are absent.
        Add(GgmlType.F32, 1, 4); Add(GgmlType.F16, 1, 2);
        Add(GgmlType.Q4_0, 32, 18); Add(GgmlType.Q4_1, 32, 20); Add(GgmlType.Q5_0, 32, 22); Add(GgmlType.Q5_1, 32, 24);
        Add(GgmlType.Q8_0, 32, 34); Add(GgmlType.Q8_1, 32, 36);
        Add(GgmlType.Q2_K, 256, 84); Add(GgmlType.Q3_K, 256, 110); Add(GgmlType.Q4_K, 256, 144);
        Add(GgmlType.Q5_K, 256, 176); Add(GgmlType.Q6_K, 256, 210); Add(GgmlType.Q8_K, 256, 292);
        Add(GgmlType.IQ2_XXS, 256, 66); Add(GgmlType.IQ2_XS, 256, 74); Add(GgmlType.IQ3_XXS, 256, 98);
        Add(GgmlType.IQ1_S, 256, 50); Add(GgmlType.IQ4_NL, 32, 18); Add(GgmlType.IQ3_S, 256, 110);
        Add(GgmlType.IQ2_S, 256, 82); Add(GgmlType.IQ4_XS, 256, 136);
        Add(GgmlType.I8, 1, 1); Add(GgmlType.I16, 1, 2); Add(GgmlType.I32, 1, 4); Add(GgmlType.I64, 1, 8);
        Add(GgmlType.F64, 1, 8); Add(GgmlType.IQ1_M, 256, 56); Add(GgmlType.BF16, 1, 2);
        Add(GgmlType.TQ1_0, 256, 54); Add(GgmlType.TQ2_0, 256, 66);
        Add(GgmlType.MXFP4, 32, 17); Add(GgmlType.NVFP4, 64, 36); Add(GgmlType.Q1_0, 128, 18); Add(GgmlType.Q2_0, 64, 18);
    }

    private static void Add(GgmlType id, int blockElements, int blockBytes)
    {
        var info = new GgmlTypeInfo(id, id.ToString(), blockElements, blockBytes);
        ById.Add((uint)id, info);
        ByName.Add(info.Name, info);
    }

    /// <summary>Looks up a type id; false for removed or unknown ids (a newer file may use them).</summary>
    public static bool TryGet(uint id, out GgmlTypeInfo info) => ById.TryGetValue(id, out info);

    /// <summary>Looks up a type by name (<c>Q4_K</c>, case-insensitive).</summary>
    public static bool TryGet(string name, out GgmlTypeInfo info) => ByName.TryGetValue(name, out info);

    /// <summary>The info of a known type.</summary>
    public static GgmlTypeInfo Of(GgmlType type) => ById[(uint)type];

    /// <summary>All known types, by id.</summary>
    public static IEnumerable<GgmlTypeInfo> All => ById.Values.OrderBy(t => t.Id);

    /// <summary>The name ggml (gguf-py) spells a type id with, or <c>type_N</c> for an unknown id.</summary>
    public static string NameOf(uint id) => TryGet(id, out var info) ? info.Name : $"type_{id}";
}
