using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;
using Microsoft.CodeAnalysis;

namespace KernelGen.Generators.Tests;

/// <summary>
/// Tensor-level specs (<c>layout linear</c>: GPTQ, AWQ, BitNet, I2_S): malformed ones give exactly one KG1xxx error at
/// the right line and column; the built-in ones parse into the expected model.
/// </summary>
public sealed class TensorSpecTests
{
    private static readonly string[] s_valid =
    {
        "format T",                                                 // 1
        "layout linear",                                            // 2
        "param bits in {2, 4}",                                     // 3
        "param group_size : int >= 1 or -1 = K",                    // 4
        "size G = (K + group_size - 1) / group_size",               // 5
        "tensor qweight : i32[K * bits / 32, N]",                   // 6
        "tensor qzeros : i32[G, N * bits / 32]",                    // 7
        "tensor scales : f16[G, N]",                                // 8
        "group g = k / group_size, G groups",                       // 9
        "quant q : u{bits}",                                        // 10
        "  q[n, k] = qweight[:, n] as u{bits}[k]",                  // 11
        "scale z : u{bits} per group",                              // 12
        "  z[n, g] = qzeros[g, :] as u{bits}[n]",                   // 13
        "scale s : f16 per group",                                  // 14
        "  s[n, g] = scales[g, n]",                                 // 15
        "value",                                                    // 16
        "  y = s * f32(q - z)",                                     // 17
    };

    private static string Edit(int line, string? text, bool insert = false)
    {
        var lines = s_valid.ToList();
        if (insert)
        {
            lines.Insert(line - 1, text!);
        }
        else if (text is null)
        {
            lines.RemoveAt(line - 1);
        }
        else
        {
            lines[line - 1] = text;
        }
        return string.Join("\n", lines) + "\n";
    }

    [Fact]
    public void The_base_spec_is_valid_and_generates_compiling_code()
    {
        var (result, output, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec("/specs/t.kgspec", Edit(1, "format T")) });
        Assert.Empty(diagnostics);
        Assert.Contains(result.Results[0].GeneratedSources, s => s.HintName == "T.g.cs");
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    public static TheoryData<string, string, string, int, int> Cases() => new()
    {
        { "unknown tensor in a placement", Edit(11, "  q[n, k] = qweightx[:, n] as u{bits}[k]"), "KG1005", 11, 13 },
        { "slot width differs from the quant", Edit(11, "  q[n, k] = qweight[:, n] as u2[k]"), "KG1008", 11, 30 },
        { "two stream dimensions", Edit(11, "  q[n, k] = qweight[:, :] as u{bits}[k]"), "KG1008", 11, 20 },
        { "quant indexed [k, n]", Edit(11, "  q[k, n] = qweight[:, n] as u{bits}[k]"), "KG1008", 11, 4 },
        { "interleave is not a permutation", Edit(11, "  q[n, k] = qweight[:, n] as u{bits}[k] interleave {0, 0}"), "KG1008", 11, 56 },
        { "bit fields from a float tensor", Edit(13, "  z[n, g] = scales[g, :] as u{bits}[n]"), "KG1008", 13, 13 },
        { "float scale of another type", Edit(14, "scale s : bf16 per group"), "KG1007", 15, 13 },
        { "unknown width parameter", Edit(10, "quant q : u{bitz}"), "KG1005", 10, 13 },
        { "value never placed", Edit(13, null), "KG1009", 12, 7 },
        { "a guarded y misses a parameter value", Edit(17, "  y = s * f32(q - z)   when bits == 2"), "KG1012", 17, 3 },
        { "'else' without an optional map", Edit(9, "group g = k / group_size else 0, G groups"), "KG1001", 9, 31 },
        { "block geometry in a tensor spec", Edit(3, "block 32 elements, 18 bytes", insert: true), "KG1001", 3, 7 },
        { "y is an integer", Edit(17, "  y = q - z"), "KG1011", 17, 9 },
        { "float warning condition", Edit(18, "warn s \"bad\"", insert: true), "KG1011", 18, 6 },
        { "tensor-level directive in a block spec", "format B\nblock 32 elements, 2 bytes\nactivation none\nfield d f16 @0\nparam bits in {4}\nvalue\n  y = d\n", "KG1001", 5, 1 },
        { "parameter value listed twice", Edit(3, "param bits in {2, 4, 2}"), "KG1017", 3, 22 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Malformed_tensor_spec_reports_one_error_with_file_line_and_column(string what, string spec, string id, int line, int column)
    {
        const string path = "/specs/t.kgspec";
        var (result, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec(path, spec) });
        Assert.Null(result.Results[0].Exception);
        var d = Assert.Single(diagnostics);
        Assert.True(d.Id == id, $"{what}: expected {id} but got {d.Id}: {d.GetMessage()}");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        var span = d.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.True((line, column) == (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1),
            $"{what}: expected {line}:{column} but got {span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1} ({d.GetMessage()})");
        Assert.Empty(result.Results[0].GeneratedSources);
    }

    [Fact]
    public void Tensor_messages_say_what_is_wrong()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec("t.kgspec", Edit(11, "  q[n, k] = qweight[:, n] as u2[k]")) });
        Assert.Equal("Invalid run: the placement reads u2 slots but 'q' is u{bits}", Assert.Single(diagnostics).GetMessage());
        (_, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec("t.kgspec", Edit(17, "  y = s * f32(q - z)   when bits == 2")) });
        Assert.Equal("Invalid value formula: 'y' is not defined when bits is 4", Assert.Single(diagnostics).GetMessage());
    }

    private static TensorFormatSpec Load(string file)
    {
        var text = GeneratorHarness.BuiltInSpec(file);
        var result = SpecParser.Parse(text.Path, text.GetText()!.ToString(), CancellationToken.None);
        Assert.Empty(result.Diagnostics);
        Assert.Null(result.Spec);
        return result.Tensor!;
    }

    [Fact]
    public void Gptq_spec_is_one_parametric_model()
    {
        var spec = Load("gptq.kgspec");
        Assert.Equal(new[] { "bits", "group_size", "checkpoint" }, spec.Params.Select(p => p.Name).ToArray());
        Assert.Equal(new long[] { 2, 3, 4, 8 }, spec.FindParam("bits")!.IntValues.AsArray());
        Assert.Equal(-1, spec.FindParam("group_size")!.Sentinel);
        Assert.Equal(new[] { "gptq", "gptq_v2" }, spec.FindParam("checkpoint")!.EnumValues.AsArray());
        Assert.True(spec.FindTensor("g_idx")!.Optional);
        Assert.Equal("g_idx", spec.Group!.Tensor);
        var q = spec.FindArray("q")!;
        Assert.Equal((ArrayLevel.Element, "bits", "qweight"), (q.Level, q.BitsParam, q.Placement.Tensor));
        Assert.IsType<StreamSelector>(q.Placement.Selectors[0]); // column n read down the rows as one bit stream
        Assert.Equal(ArrayLevel.Group, spec.FindArray("qz")!.Level);
        Assert.IsType<Select>(spec.Lets[0].Value);           // z: v1 / v2 under 'when'
        Assert.Equal(TensorFormatSpec.GroupPeriod, spec.Lets[0].Value.Period);
        Assert.Equal(TensorFormatSpec.ElementPeriod, spec.Result.Value.Period);
        Assert.Single(spec.Warnings);
        Assert.Equal(Load("gptq.kgspec"), spec);
    }

    [Fact]
    public void Awq_bitnet_and_i2s_specs_capture_interleave_row_blocks_and_views()
    {
        Assert.Equal(new[] { 0, 2, 4, 6, 1, 3, 5, 7 }, Load("awq_gemm.kgspec").FindArray("q")!.Placement.Interleave.AsArray());
        Assert.Empty(Load("awq_gemv.kgspec").FindArray("q")!.Placement.Interleave.AsArray());
        var bitnet = Load("bitnet.kgspec");
        Assert.Equal(ArrayLevel.Tensor, bitnet.FindArray("ws")!.Level);
        Assert.IsType<Select>(bitnet.Result.Value); // multiply or divide by linear_class
        var i2s = Load("i2_s.kgspec");
        Assert.Equal(new[] { "data" }, i2s.Buffers.AsArray());
        Assert.NotNull(i2s.FindTensor("tail")!.Offset);
    }
}
