using System.Linq;
using KernelGen.Generators.Api.Model;
using KernelGen.Generators.Emit;

namespace KernelGen.Generators.Api;

/// <summary>
/// Writes the implementation part of one kernel method: a body that checks the span lengths (with messages naming the
/// method) and calls the generated kernel through the runtime driver (<c>QuantizedKernels.MatMul</c>, or the parallel
/// decoder), with K and N as constants when the attribute declares them. The generated kernel class is chosen in
/// exactly one place, <see cref="KernelClass"/>.
/// </summary>
internal static class ApiEmitter
{
    private const string Support = "global::KernelGen.GeneratedKernelSupport";
    private const string Drivers = "global::KernelGen.Kernels.MatMul.QuantizedKernels";
    private const string SharedPool = "global::KernelGen.Kernels.Threading.KernelThreadPool.Shared";

    /// <summary>Name of the file-local class holding the kernel delegate and the shape constants.</summary>
    private const string Holder = "__KernelGenKernel";

    private static readonly string s_version = typeof(ApiEmitter).Assembly.GetName().Version?.ToString() ?? "1.0.0.0";

    /// <summary>
    /// The generated class whose <c>Rows</c> kernel a matrix method calls: <c>&lt;F&gt;Dot</c> of the runtime library for
    /// a built-in format, or of this project for a format from its own spec. This is the one place to choose a
    /// shape-specialised kernel instead (for example a K-unrolled copy of <c>&lt;F&gt;Dot</c> emitted for
    /// <c>method.K</c>): the rest of the emitted body only uses the class's <c>Rows</c> and <c>ActivationKind</c>.
    /// </summary>
    internal static string KernelClass(KernelMethodSpec method, FormatFacts format) =>
        ShapeEmitter.ClassName(method, format) ?? $"global::{format.Namespace}.{format.Name}Dot";

    /// <summary>The generated codec whose <c>DecodeRow</c> a <c>[Dequantize]</c> method calls.</summary>
    internal static string CodecClass(FormatFacts format) => $"global::{format.Namespace}.{format.Name}Codec";

    /// <summary>Metadata name of KernelGen.Gpu's entry point for GPU attribute methods.</summary>
    public const string GpuCallsType = "KernelGen.Gpu.GpuKernelCalls";

    /// <summary>
    /// A <c>Backend = Gpu</c> matvec/matmul on a built-in format, in a project that references KernelGen.Gpu, gets a
    /// GPU body (the ILGPU kernels cover the built-in formats); anything else runs the CPU kernel (KG2011).
    /// </summary>
    public static bool RunsOnGpu(KernelMethodSpec method, FormatFacts? format, ApiCompilationFacts compilation) =>
        method.Backend?.Value == 1 && method.Kind != KernelKind.Dequantize && format is { IsUserFormat: false, IsTensorLevel: false }
        && compilation.HasGpuKernelCalls;

    public static string Emit(KernelMethodSpec method, FormatFacts format, bool gpu = false)
    {
        var w = new SourceWriter();
        WriteHeader(w, method, format);
        OpenTypes(w, method);
        w.WriteLine($"[global::System.CodeDom.Compiler.GeneratedCode(\"KernelGen.Generators\", \"{s_version}\")]");
        w.OpenBlock(Declaration(method));
        string name = Literal(method.DisplayName);
        string formatName = Literal(format.Name);
        var ps = method.Parameters;
        string weights = ps[0].Name;
        string pool = method.HasPool ? ps[ps.Count - 1].Name : SharedPool;
        int k = method.K?.Value ?? 0, n = method.N?.Value ?? 0;
        string kArg = k > 0 ? $"{Holder}.K" : "0", nArg = n > 0 ? $"{Holder}.N" : "0";
        if (method.Kind == KernelKind.Dequantize)
        {
            string y = ps[1].Name;
            w.WriteLine($"{Support}.DequantizeShape({name}, {formatName}, {Holder}.BlockElements, {Holder}.BlockBytes, {kArg}, {nArg}, {weights}.Length, {y}.Length);");
            w.WriteLine($"{Support}.Dequantize({Holder}.Decode, {Holder}.BlockElements, {Holder}.BlockBytes, {weights}, {y}, {pool});");
        }
        else
        {
            string x = ps[1].Name, y = ps[2].Name;
            string batch = method.Kind == KernelKind.MatMul ? ps[3].Name : "1";
            string kOut = k > 0 ? "out _" : "out int __k", nOut = n > 0 ? "out _" : "out int __n";
            if (k > 0 || n > 0)
            {
                w.WriteLine($"// {(k > 0 && n > 0 ? "K and N are" : k > 0 ? "K is" : "N is")} known at compile time (checked by the generator); the spans are checked against {(k > 0 && n > 0 ? "them" : "it")}.");
            }
            w.WriteLine($"{Support}.MatMulShape({name}, {formatName}, {Holder}.BlockElements, {Holder}.BlockBytes, {kArg}, {nArg}, {batch}, {weights}.Length, {x}.Length, {y}.Length, {kOut}, {nOut});");
            string kValue = k > 0 ? Holder + ".K" : "__k", nValue = n > 0 ? Holder + ".N" : "__n";
            w.WriteLine(gpu
                ? $"global::{GpuCallsType}.MatMul({formatName}, {weights}, {kValue}, {nValue}, {x}, {batch}, {y});"
                : $"{Drivers}.MatMul({Holder}.Rows, {Holder}.ActivationKind, {Holder}.BlockElements, {Holder}.BlockBytes, {formatName}, {weights}, {kValue}, {nValue}, {x}, {batch}, {y}, {pool});");
        }
        w.CloseBlock();
        CloseTypes(w, method);
        w.WriteLine();
        WriteHolder(w, method, format);
        return w.ToSourceText();
    }

    /// <summary>
    /// The implementation part of a method that has a KG2xxx error: it only throws, and exists so the compiler does
    /// not add a missing-implementation error on top of the one that says what to fix.
    /// </summary>
    public static string EmitStub(KernelMethodSpec method)
    {
        var w = new SourceWriter();
        WriteHeader(w, method, null);
        OpenTypes(w, method);
        w.OpenBlock(Declaration(method));
        w.WriteLine($"throw new global::System.NotSupportedException({Literal($"KernelGen could not generate {method.DisplayName}: fix the KG2xxx error reported on its declaration.")});");
        w.CloseBlock();
        CloseTypes(w, method);
        return w.ToSourceText();
    }

    private static void WriteHeader(SourceWriter w, KernelMethodSpec method, FormatFacts? format)
    {
        w.WriteLine("// <auto-generated/>");
        w.WriteLine($"// Generated by KernelGen.Generators for [{method.AttributeName}(\"{method.Format}\"{Arguments(method)})] on {method.DisplayName}.");
        if (format is not null)
        {
            w.WriteLine($"// {format.Name}: {format.BlockElements} elements in {format.BlockBytes} bytes per block, {(format.IsUserFormat ? "generated into this project" : "built into the KernelGen runtime")}.");
        }
        w.WriteLine("#nullable enable");
        w.WriteLine();
        if (method.Namespace.Length > 0)
        {
            w.WriteLine($"namespace {method.Namespace};");
            w.WriteLine();
        }
    }

    private static string Arguments(KernelMethodSpec method)
    {
        string s = string.Empty;
        foreach (var (name, value) in new[] { ("K", method.K), ("N", method.N), ("Bits", method.Bits), ("GroupSize", method.GroupSize) })
        {
            if (value is not null)
            {
                s += $", {name} = {value.Value}";
            }
        }
        return method.Backend is { Value: 1 } ? s + ", Backend = KernelBackend.Gpu" : s;
    }

    private static void OpenTypes(SourceWriter w, KernelMethodSpec method)
    {
        foreach (var type in method.Types)
        {
            w.OpenBlock($"partial {type.Keyword} {type.Name}");
        }
    }

    private static void CloseTypes(SourceWriter w, KernelMethodSpec method)
    {
        for (int i = 0; i < method.Types.Count; i++)
        {
            w.CloseBlock();
        }
    }

    private static string Declaration(KernelMethodSpec method) =>
        $"{method.Modifiers} {method.ReturnType} {method.MethodName}({string.Join(", ", method.Parameters.Select(p => p.Modifiers + p.Type + " " + p.Name))})";

    private static void WriteHolder(SourceWriter w, KernelMethodSpec method, FormatFacts format)
    {
        w.WriteLine($"/// <summary>The kernel of {Xml(method.DisplayName)}, converted to the runtime's delegate type once, and its constants.</summary>");
        w.OpenBlock($"file static class {Holder}");
        w.WriteLine($"public const int BlockElements = {format.BlockElements};");
        w.WriteLine($"public const int BlockBytes = {format.BlockBytes};");
        if (method.K is { } k)
        {
            w.WriteLine($"public const int K = {k.Value};");
            w.WriteLine($"/// <summary>Bytes of one weight row: {k.Value / format.BlockElements} blocks of {format.BlockBytes} bytes.</summary>");
            w.WriteLine($"public const int RowBytes = K / BlockElements * BlockBytes;");
        }
        if (method.N is { } n)
        {
            w.WriteLine($"public const int N = {n.Value};");
        }
        if (method.Kind == KernelKind.Dequantize)
        {
            w.WriteLine($"public static readonly global::KernelGen.DecodeRowsKernel Decode = {CodecClass(format)}.DecodeRow;");
        }
        else
        {
            string kernel = KernelClass(method, format);
            w.WriteLine($"public const int ActivationKind = {kernel}.ActivationKind;");
            w.WriteLine($"public static readonly global::KernelGen.Kernels.MatMul.DotRowsKernel Rows = {kernel}.Rows;");
        }
        w.CloseBlock();
    }

    private static string Literal(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Xml(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
