using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static KernelGen.Generators.Tests.ApiTestSource;

namespace KernelGen.Generators.Tests;

/// <summary>
/// Every KG2xxx diagnostic of the attribute API, each at its exact location (the attribute argument or the part of the
/// declaration that is wrong), with a message that says how to fix it, and no compiler error piled on top.
/// </summary>
public sealed class ApiDiagnosticsTests
{
    private const string Signature = "(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y)";

    private static string Kernel(string attribute, string declaration = "public static partial void Project" + Signature + ";") =>
        Usings + "public static partial class Model\n{\n    " + attribute + "\n    " + declaration + "\n}\n";

    [Fact]
    public void KG2001_unknown_format_at_the_format_argument_with_suggestions()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec([|\"Q4K\"|])]"), "KG2001");
        string message = d.GetMessage();
        Assert.StartsWith("Unknown format 'Q4K' (did you mean 'Q4_K'?); use a built-in format (", message, StringComparison.Ordinal);
        Assert.Contains("Q4_0, Q4_1", message, StringComparison.Ordinal);
        Assert.DoesNotContain("GPTQ", message, StringComparison.Ordinal);

        // The method still gets a (throwing) implementation, so KG2001 is the only error.
        var (source, _) = Markup(Kernel("[QuantizedMatVec([|\"Q4K\"|])]"));
        Assert.Empty(CompilerProblems(Run(source).Output));
    }

    [Fact]
    public void KG2002_K_not_a_multiple_of_the_block_size_at_the_K_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_K\", [|K = 1000|], N = 64)]"), "KG2002");
        Assert.Equal("Invalid shape: K = 1000 is not a multiple of Q4_K's block size 256 (rows are whole blocks); use a multiple such as 768 or 1024, or another format", d.GetMessage());
    }

    [Fact]
    public void KG2002_N_not_positive_at_the_N_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q8_0\", K = 64, [|N = 0|])]"), "KG2002");
        Assert.Contains("N = 0 must be positive", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("remove N to take it from y.Length", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2003_bits_on_a_block_format_at_the_Bits_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_0\", [|Bits = 4|])]"), "KG2003");
        Assert.Equal("Invalid Bits for format Q4_0: Q4_0 is a block format with a fixed layout (32 elements in 18 bytes per block); remove Bits", d.GetMessage());
    }

    [Fact]
    public void KG2003_invalid_bits_for_GPTQ_at_the_Bits_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"GPTQ\", [|Bits = 5|], GroupSize = 128)]"), "KG2003");
        Assert.Equal("Invalid Bits for format GPTQ: 5 is not allowed; use one of 2, 3, 4, 8", d.GetMessage());
    }

    [Fact]
    public void KG2003_missing_group_size_for_GPTQ_at_the_format_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec([|\"GPTQ\"|], Bits = 4, GroupSize = -1)]".Replace(", GroupSize = -1", string.Empty)), "KG2003");
        Assert.Contains("GPTQ needs GroupSize (a value >= 1, or -1 for one group per row); add 'GroupSize = ...'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2009_a_valid_checkpoint_format_is_not_yet_an_attribute_kernel()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec([|\"GPTQ\"|], Bits = 4, GroupSize = 128, K = 4096)]"), "KG2009");
        Assert.Contains("repack the layer once at load with QuantizedMatrix.FromGptq", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2004_method_with_a_body_at_the_identifier()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_0\")]", "public static void [|Project|]" + Signature + " { }"), "KG2004");
        Assert.Equal("Method 'User.Model.Project' has [QuantizedMatVec] but is not partial; declare it 'static partial' without a body, and KernelGen writes the body", d.GetMessage());
    }

    [Fact]
    public void KG2005_instance_method_at_the_identifier()
    {
        string source = Usings + "public partial class Model\n{\n    [QuantizedMatVec(\"Q4_0\")]\n    public partial void [|Project|]" + Signature + ";\n}\n";
        var d = AssertSingleAt(source, "KG2005");
        Assert.Contains("add the 'static' modifier", d.GetMessage(), StringComparison.Ordinal);
        var (clean, _) = Markup(source);
        Assert.Empty(CompilerProblems(Run(clean).Output));
    }

    [Fact]
    public void KG2006_containing_type_not_partial_at_the_type_identifier()
    {
        string source = Usings + "public static class [|Outer|]\n{\n    public static partial class Model\n    {\n        [QuantizedMatVec(\"Q4_0\")]\n        public static partial void Project" + Signature + ";\n    }\n}\n";
        var d = AssertSingleAt(source, "KG2006");
        Assert.Equal("Type 'Outer' contains the [QuantizedMatVec] method 'Project' but is not partial; add the 'partial' modifier to 'Outer' so KernelGen can add the method body", d.GetMessage());
    }

    [Fact]
    public void KG2007_wrong_parameter_type_at_the_parameter()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_0\")]", "public static partial void Project(ReadOnlySpan<byte> weights, [|float[] x|], Span<float> y);"), "KG2007");
        Assert.Equal("Method 'User.Model.Project' cannot implement [QuantizedMatVec]: parameter 'x' is 'float[]', not 'ReadOnlySpan<float>'; declare it as 'static partial void Project(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y[, KernelThreadPool? pool])'", d.GetMessage());
    }

    [Fact]
    public void KG2007_wrong_parameter_count_at_the_parameter_list()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatMul(\"Q4_0\")]", "public static partial void Project[|" + Signature + "|];"), "KG2007");
        Assert.Contains("it has 3 parameters, not 4 (or 5 with a trailing KernelThreadPool? pool)", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("static partial void Project(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int batch[, KernelThreadPool? pool])", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2007_non_void_return_at_the_return_type()
    {
        var d = AssertSingleAt(Kernel("[Dequantize(\"Q8_0\")]", "public static partial [|int|] Decode(ReadOnlySpan<byte> weights, Span<float> y);"), "KG2007");
        Assert.Contains("it returns 'int', not void", d.GetMessage(), StringComparison.Ordinal);
        var (clean, _) = Markup(Kernel("[Dequantize(\"Q8_0\")]", "public static partial [|int|] Decode(ReadOnlySpan<byte> weights, Span<float> y);"));
        Assert.Empty(CompilerProblems(Run(clean).Output));
    }

    [Fact]
    public void KG2007_pool_of_the_wrong_type_at_the_parameter()
    {
        var d = AssertSingleAt(Kernel("[Dequantize(\"Q8_0\")]", "public static partial void Decode(ReadOnlySpan<byte> weights, Span<float> y, [|int threads|]);"), "KG2007");
        Assert.Contains("parameter 'threads' is 'int', not 'KernelThreadPool?'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2008_second_kernel_attribute_at_that_attribute()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_0\")]\n    [[|Dequantize(\"Q4_0\")|]]"), "KG2008");
        Assert.Equal("Method 'User.Model.Project' already has [QuantizedMatVec]; one method implements one kernel, so declare another partial method for [Dequantize]", d.GetMessage());
    }

    [Fact]
    public void KG2010_gpu_backend_without_the_gpu_package_at_the_Backend_argument()
    {
        var d = AssertSingleAt(Kernel("[QuantizedMatVec(\"Q4_0\", [|Backend = KernelBackend.Gpu|])]"), "KG2010");
        Assert.Contains("add the KernelGen.Gpu package ('dotnet add package KernelGen.Gpu') or use KernelBackend.Cpu", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void KG2011_gpu_backend_with_the_gpu_package_is_an_info_and_the_cpu_kernel_is_generated()
    {
        var gpu = CSharpCompilation.Create("KernelGen.Gpu", new[] { CSharpSyntaxTree.ParseText("namespace KernelGen.Gpu { public static class Marker { } }") },
            Array.Empty<MetadataReference>(), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)).ToMetadataReference();
        string markup = Kernel("[QuantizedMatVec(\"Q4_0\", [|Backend = KernelBackend.Gpu|])]");
        var d = AssertSingleAt(markup, "KG2011", gpu);
        Assert.Equal(DiagnosticSeverity.Info, d.Severity);
        var (source, _) = Markup(markup);
        var (result, output, _) = Run(source, extra: gpu);
        Assert.Empty(CompilerProblems(output));
        Assert.Contains("QuantizedKernels.MatMul(", result.GeneratedTrees.Single(t => t.FilePath.EndsWith("User.Model.Project.g.cs", StringComparison.Ordinal)).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void With_KernelGen_Gpu_referenced_a_gpu_matvec_gets_a_gpu_body_and_no_info()
    {
        var gpu = CSharpCompilation.Create("KernelGen.Gpu", new[] { CSharpSyntaxTree.ParseText("""
            namespace KernelGen.Gpu
            {
                public static class GpuKernelCalls
                {
                    public static void MatMul(string format, System.ReadOnlySpan<byte> weights, int k, int n, System.ReadOnlySpan<float> x, int batch, System.Span<float> y) { }
                }
            }
            """) }, GeneratorHarness.References, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)).ToMetadataReference();
        var (source, _) = Markup(Kernel("[QuantizedMatVec(\"Q4_0\", [|Backend = KernelBackend.Gpu|])]"));
        var (result, output, diagnostics) = Run(source, extra: gpu);
        Assert.Empty(diagnostics);
        Assert.Empty(CompilerProblems(output));
        string generated = result.GeneratedTrees.Single(t => t.FilePath.EndsWith("User.Model.Project.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("global::KernelGen.Gpu.GpuKernelCalls.MatMul(\"Q4_0\", ", generated, StringComparison.Ordinal);
        Assert.DoesNotContain("QuantizedKernels.MatMul(", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void A_format_from_the_projects_own_spec_is_accepted_and_called_in_the_project_namespace()
    {
        string spec = File.ReadAllText(Path.Combine(GeneratorHarness.RepoRoot, "tests", "KernelGen.Kernels.Tests", "Specs", "q3_test.kgspec"));
        string source = Kernel("[QuantizedMatVec(\"Q3_TEST\", K = 64)]");
        var (result, output, diagnostics) = Run(source, new[] { GeneratorHarness.Spec("/p/q3_test.kgspec", spec) },
            new Dictionary<string, string> { ["KernelGenNamespace"] = "User.Formats" });
        Assert.Empty(diagnostics);
        Assert.Empty(CompilerProblems(output));
        string generated = result.GeneratedTrees.Single(t => t.FilePath.EndsWith("User.Model.Project.g.cs", StringComparison.Ordinal)).ToString();
        // K is given, so the method calls a K-specialised copy of the project's own kernel, which decodes with the
        // project's codec.
        Assert.Matches(@"= global::KernelGen\.Generated\.Shapes\.Q3_TEST_K64_[0-9a-f]{8}\.Q3_TESTDotK64\.Rows;", generated);
        string shape = result.GeneratedTrees.Single(t => t.FilePath.EndsWith("User.Model.Project.Shape.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("class Q3_TESTDotK64", shape, StringComparison.Ordinal);
        Assert.Contains("public const int RowBytes = K / BlockElements * BlockBytes;", generated, StringComparison.Ordinal);

        // A format excluded by KernelGenFormats is not generated, so it is unknown to the API.
        var (_, _, filtered) = Run(source, new[] { GeneratorHarness.Spec("/p/q3_test.kgspec", spec) },
            new Dictionary<string, string> { ["KernelGenFormats"] = "Q4_0" });
        Assert.Equal("KG2001", Assert.Single(filtered).Id);
    }
}
