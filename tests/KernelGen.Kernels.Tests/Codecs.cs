using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>DecodeFields followed by Encode, for every built-in format (test glue over the generated codecs).</summary>
internal delegate void Reencode(ReadOnlySpan<byte> block, Span<byte> output);

internal static class Codecs
{
    public static readonly Dictionary<string, Reencode> Reencoders = new()
    {
        ["Q4_0"] = (s, d) => { Q4_0Codec.DecodeFields(s, out var f); Q4_0Codec.Encode(f, d); },
        ["Q4_1"] = (s, d) => { Q4_1Codec.DecodeFields(s, out var f); Q4_1Codec.Encode(f, d); },
        ["Q5_0"] = (s, d) => { Q5_0Codec.DecodeFields(s, out var f); Q5_0Codec.Encode(f, d); },
        ["Q5_1"] = (s, d) => { Q5_1Codec.DecodeFields(s, out var f); Q5_1Codec.Encode(f, d); },
        ["Q8_0"] = (s, d) => { Q8_0Codec.DecodeFields(s, out var f); Q8_0Codec.Encode(f, d); },
        ["Q8_1"] = (s, d) => { Q8_1Codec.DecodeFields(s, out var f); Q8_1Codec.Encode(f, d); },
        ["Q2_K"] = (s, d) => { Q2_KCodec.DecodeFields(s, out var f); Q2_KCodec.Encode(f, d); },
        ["Q3_K"] = (s, d) => { Q3_KCodec.DecodeFields(s, out var f); Q3_KCodec.Encode(f, d); },
        ["Q4_K"] = (s, d) => { Q4_KCodec.DecodeFields(s, out var f); Q4_KCodec.Encode(f, d); },
        ["Q5_K"] = (s, d) => { Q5_KCodec.DecodeFields(s, out var f); Q5_KCodec.Encode(f, d); },
        ["Q6_K"] = (s, d) => { Q6_KCodec.DecodeFields(s, out var f); Q6_KCodec.Encode(f, d); },
        ["Q8_K"] = (s, d) => { Q8_KCodec.DecodeFields(s, out var f); Q8_KCodec.Encode(f, d); },
        ["IQ4_NL"] = (s, d) => { IQ4_NLCodec.DecodeFields(s, out var f); IQ4_NLCodec.Encode(f, d); },
        ["IQ4_XS"] = (s, d) => { IQ4_XSCodec.DecodeFields(s, out var f); IQ4_XSCodec.Encode(f, d); },
        ["TQ1_0"] = (s, d) => { TQ1_0Codec.DecodeFields(s, out var f); TQ1_0Codec.Encode(f, d); },
        ["TQ2_0"] = (s, d) => { TQ2_0Codec.DecodeFields(s, out var f); TQ2_0Codec.Encode(f, d); },
        ["F32"] = (s, d) => { F32Codec.DecodeFields(s, out var f); F32Codec.Encode(f, d); },
        ["F16"] = (s, d) => { F16Codec.DecodeFields(s, out var f); F16Codec.Encode(f, d); },
        ["BF16"] = (s, d) => { BF16Codec.DecodeFields(s, out var f); BF16Codec.Encode(f, d); },
        // Repack targets of the tensor-level formats (GPTQ/AWQ, BitNet/I2_S).
        ["GQ4_G128"] = (s, d) => { GQ4_G128Codec.DecodeFields(s, out var f); GQ4_G128Codec.Encode(f, d); },
        ["GQ4_G32"] = (s, d) => { GQ4_G32Codec.DecodeFields(s, out var f); GQ4_G32Codec.Encode(f, d); },
        ["GQ8_G128"] = (s, d) => { GQ8_G128Codec.DecodeFields(s, out var f); GQ8_G128Codec.Encode(f, d); },
        ["GQ8_G32"] = (s, d) => { GQ8_G32Codec.DecodeFields(s, out var f); GQ8_G32Codec.Encode(f, d); },
        ["TB2_F32"] = (s, d) => { TB2_F32Codec.DecodeFields(s, out var f); TB2_F32Codec.Encode(f, d); },
    };

    /// <summary>Formats whose packing is not a bijection on raw bytes (base-3 digits): only encoder output is canonical.</summary>
    public static readonly HashSet<string> CanonicalOnly = new() { "TQ1_0" };
}
