namespace KernelGen.Generators.Model;

/// <summary>Storage type of a block field (all multi-byte types are little-endian).</summary>
internal enum ScalarKind
{
    F16,
    BF16,
    F32,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
}

internal static class ScalarKindExtensions
{
    public static int Size(this ScalarKind kind) => kind switch
    {
        ScalarKind.U8 or ScalarKind.I8 => 1,
        ScalarKind.F16 or ScalarKind.BF16 or ScalarKind.U16 or ScalarKind.I16 => 2,
        _ => 4,
    };

    public static bool IsFloat(this ScalarKind kind) => kind is ScalarKind.F16 or ScalarKind.BF16 or ScalarKind.F32;

    public static bool IsSigned(this ScalarKind kind) => kind is ScalarKind.I8 or ScalarKind.I16 or ScalarKind.I32;

    /// <summary>Spec-language spelling (<c>f16</c>, <c>u16le</c>...).</summary>
    public static string SpecName(this ScalarKind kind) => kind switch
    {
        ScalarKind.F16 => "f16",
        ScalarKind.BF16 => "bf16",
        ScalarKind.F32 => "f32",
        ScalarKind.U8 => "u8",
        ScalarKind.I8 => "i8",
        ScalarKind.U16 => "u16le",
        ScalarKind.I16 => "i16le",
        ScalarKind.U32 => "u32le",
        _ => "i32le",
    };

    /// <summary>C# type used for the raw value in the logical block struct (floats are kept as raw bits except f32).</summary>
    public static string CSharpStorageType(this ScalarKind kind) => kind switch
    {
        ScalarKind.F16 or ScalarKind.BF16 or ScalarKind.U16 => "ushort",
        ScalarKind.F32 => "float",
        ScalarKind.U8 => "byte",
        ScalarKind.I8 => "sbyte",
        ScalarKind.I16 => "short",
        ScalarKind.U32 => "uint",
        _ => "int",
    };

    public static bool TryParse(string text, out ScalarKind kind)
    {
        switch (text)
        {
            case "f16": kind = ScalarKind.F16; return true;
            case "bf16": kind = ScalarKind.BF16; return true;
            case "f32": kind = ScalarKind.F32; return true;
            case "u8": kind = ScalarKind.U8; return true;
            case "i8": kind = ScalarKind.I8; return true;
            case "u16": case "u16le": kind = ScalarKind.U16; return true;
            case "i16": case "i16le": kind = ScalarKind.I16; return true;
            case "u32": case "u32le": kind = ScalarKind.U32; return true;
            case "i32": case "i32le": kind = ScalarKind.I32; return true;
            default: kind = default; return false;
        }
    }
}
