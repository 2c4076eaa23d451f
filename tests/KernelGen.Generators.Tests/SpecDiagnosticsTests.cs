using Microsoft.CodeAnalysis;

namespace KernelGen.Generators.Tests;

/// <summary>Malformed specs produce exactly one KG1xxx error at the right file, line and column.</summary>
public sealed class SpecDiagnosticsTests
{
    private static readonly string[] s_valid =
    {
        "format T",                              // 1
        "block 32 elements, 18 bytes",           // 2
        "activation Q8_0",                       // 3
        "field d f16 @0",                        // 4
        "field qs u8[16] @2",                    // 5
        "quant q : u4",                          // 6
        "  e[0..15] = qs[0..15] bits 0..3",      // 7
        "  e[16..31] = qs[0..15] bits 4..7",     // 8
        "value",                                 // 9
        "  y = f32(q - 8) * d",                  // 10
    };

    /// <summary>Replaces (or with <paramref name="insert"/> inserts before, or with null text deletes) 1-based line <paramref name="line"/>.</summary>
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

    public static TheoryData<string, string, string, int, int> Cases() => new()
    {
        { "missing '@'", Edit(4, "field d f16 0"), "KG1001", 4, 13 },
        { "misspelled directive", Edit(3, "activaton Q8_0"), "KG1002", 3, 1 },
        { "no block directive", Edit(2, null), "KG1003", 1, 8 },
        { "name declared twice", Edit(10, "  d = f32(q)", insert: true), "KG1004", 10, 3 },
        { "unknown field in a run", Edit(7, "  e[0..15] = qx[0..15] bits 0..3"), "KG1005", 7, 14 },
        { "fields do not fill the block", Edit(2, "block 32 elements, 19 bytes"), "KG1006", 2, 20 },
        { "unknown field type", Edit(4, "field d f8 @0"), "KG1007", 4, 9 },
        { "run ranges of different lengths", Edit(7, "  e[0..15] = qs[0..7] bits 0..3"), "KG1008", 7, 16 },
        { "elements never assigned", Edit(8, null), "KG1009", 6, 7 },
        { "bits used twice", Edit(8, "  e[16..31] = qs[0..15] bits 3..6"), "KG1010", 8, 25 },
        { "int times float", Edit(10, "  y = f32(q - 8) * q"), "KG1011", 10, 18 },
        { "y not last", Edit(11, "  z = y", insert: true), "KG1012", 10, 3 },
        { "group does not divide the block", Edit(9, "scale s : u4 per 5", insert: true), "KG1013", 9, 18 },
        { "codebook count mismatch", Edit(6, "codebook cb : i8[4] = { 1, 2, 3 }", insert: true), "KG1014", 6, 18 },
        { "codebook smaller than its index range", Edit(6, "codebook cb : i8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }", insert: true).Replace("y = f32(q - 8) * d", "y = f32(cb[q]) * d"), "KG1014", 11, 14 },
        { "struct member collision", Edit(5, "field D f16 @2\nfield qs u8[16] @4").Replace("18 bytes", "20 bytes"), "KG1004", 5, 7 },
        { "unknown activation", Edit(3, "activation Q9_0"), "KG1016", 3, 12 },
        { "zero-element block", Edit(2, "block 0 elements, 18 bytes"), "KG1017", 2, 7 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Malformed_spec_reports_one_error_with_file_line_and_column(string what, string spec, string id, int line, int column)
    {
        const string path = "/specs/t.kgspec";
        var (result, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec(path, spec) });

        Assert.Null(result.Results[0].Exception);
        var d = Assert.Single(diagnostics);
        Assert.True(d.Id == id, $"{what}: expected {id} but got {d.Id}: {d.GetMessage()}");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains(WellKnownDiagnosticTags.NotConfigurable, d.Descriptor.CustomTags);
        var span = d.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.True((line, column) == (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1),
            $"{what}: expected {line}:{column} but got {span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1} ({d.GetMessage()})");
        Assert.Empty(result.Results[0].GeneratedSources);
    }

    [Fact]
    public void Messages_say_what_is_wrong()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec("t.kgspec", Edit(7, "  e[0..15] = qs[0..7] bits 0..3")) });
        Assert.Equal("Invalid run: the run has 16 values but qs[0..7] has 8", Assert.Single(diagnostics).GetMessage());

        (_, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec("t.kgspec", Edit(8, "  e[16..31] = qs[0..15] bits 3..6")) });
        Assert.Equal("Storage overlap: bit 3 of block byte 2 is used by q[16] and by q[0]", Assert.Single(diagnostics).GetMessage());
    }

    [Fact]
    public void Two_specs_declaring_one_format_report_KG1015_on_the_second_file()
    {
        string spec = Edit(1, "format T");
        var (result, _, diagnostics) = GeneratorHarness.Run(new[]
        {
            GeneratorHarness.Spec("/specs/b.kgspec", spec),
            GeneratorHarness.Spec("/specs/a.kgspec", spec),
        });
        var d = Assert.Single(diagnostics);
        Assert.Equal("KG1015", d.Id);
        Assert.Equal("/specs/b.kgspec", d.Location.GetLineSpan().Path);
        Assert.Contains("a.kgspec", d.GetMessage());
        Assert.Single(result.Results[0].GeneratedSources, s => s.HintName == "T.g.cs");
    }
}
