using System.Text;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>
/// Broken files built byte by byte: each must be refused with a <see cref="ModelFormatException"/> whose message
/// names the file and what is wrong (and, where there is one, the byte offset), never any other exception.
/// </summary>
public sealed class SafetensorsBadInputTests : IDisposable
{
    private const string OneF32 = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ModelFormatException Refused(byte[] bytes, string because)
    {
        string path = _dir.Write("bad.safetensors", bytes);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.True(e.Message.Contains(because, StringComparison.Ordinal), $"expected \"{because}\" in: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private ModelFormatException Refused(string header, int dataBytes, string because) =>
        Refused(SafetensorsBytes.Raw(header, dataBytes), because);

    [Fact]
    public void Empty_and_tiny_files() => Assert.Equal(0, Refused(new byte[5], "file ends inside the 8-byte header length (needs 8 bytes, 5 left)").Offset);

    [Fact]
    public void Truncated_data()
    {
        byte[] good = SafetensorsBytes.Sample();
        var e = Refused(good[..^1], "file is truncated");
        Assert.Equal(good.Length - 1, e.Offset);
    }

    [Fact]
    public void Truncated_header() => Refused(SafetensorsBytes.Sample()[..40], "runs past the end of the 40-byte file");

    [Fact]
    public void Header_length_of_two_to_the_fifty() =>
        Assert.Equal(0, Refused(SafetensorsBytes.Raw("{}", 0, headerLength: 1UL << 50), "header length 1125899906842624 exceeds the limit of 100000000 bytes").Offset);

    [Fact]
    public void Header_length_just_over_the_limit() =>
        Refused(SafetensorsBytes.Raw("{}", 0, headerLength: 100_000_001), "exceeds the limit");

    [Fact]
    public void Header_that_is_not_json()
    {
        var e = Refused("{not json}", 0, "header is not valid JSON");
        Assert.Equal(9, e.Offset); // 'n' at header byte 1
    }

    [Fact]
    public void Json_error_offset_counts_lines()
    {
        const string header = "{\n  \"__metadata__\": {\n    \"a\": x}}";
        var e = Refused(header, 0, "header is not valid JSON");
        Assert.Equal(8 + header.IndexOf('x'), e.Offset);
    }

    [Fact]
    public void Header_not_starting_with_a_brace() => Refused(" {}", 0, "header does not start with '{'");

    [Fact]
    public void Empty_header() => Refused("", 0, "header is empty");

    [Fact]
    public void Content_after_the_header_object() => Refused("{} {}", 0, "header is not valid JSON");

    [Fact]
    public void Invalid_utf8_in_a_tensor_name()
    {
        byte[] header = [.. "{\"a"u8, 0xFF, .. "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"u8];
        var e = Refused(SafetensorsBytes.Raw(header, 1), "header is not valid UTF-8");
        Assert.Equal(8 + 3, e.Offset);
    }

    [Fact]
    public void Lone_surrogate_escape_in_a_tensor_name() =>
        Refused("{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "is not valid Unicode");

    [Fact]
    public void Shape_whose_element_count_overflows() =>
        Refused("{\"t\":{\"dtype\":\"U8\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,16]}}", 16, "overflows a 64-bit integer");

    [Fact]
    public void Shape_whose_byte_count_overflows() =>
        Refused("{\"t\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}}", 16, "overflows a 64-bit integer");

    [Fact]
    public void Overflow_is_found_before_a_zero_dimension() =>
        Refused("{\"t\":{\"dtype\":\"U8\",\"shape\":[1099511627776,1099511627776,0],\"data_offsets\":[0,0]}}", 0, "overflows");

    [Fact]
    public void Overlapping_offsets() =>
        Refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            "tensor 'b' data [4, 12) overlaps tensor 'a' [0, 8)");

    [Fact]
    public void Gap_between_tensors() =>
        Refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
            "gap in the data buffer: tensor 'b' begins at 12 but tensor 'a' ends at 8");

    [Fact]
    public void First_tensor_not_at_zero() =>
        Refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "the first tensor must begin at 0");

    [Fact]
    public void Trailing_bytes()
    {
        var e = Refused("{" + OneF32 + "}", 9, "1 trailing bytes after the last tensor");
        Assert.Equal(8 + ("{" + OneF32 + "}").Length + 8, e.Offset);
    }

    [Fact]
    public void Data_without_tensors() => Refused("{}", 3, "3 trailing bytes");

    [Fact]
    public void Unknown_dtype() =>
        Refused("{\"t\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'Q9'");

    [Fact]
    public void Dtype_names_are_case_sensitive() =>
        Refused("{\"t\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'f32'");

    [Fact]
    public void Duplicate_tensor_names() =>
        Refused("{" + OneF32 + "," + OneF32.Replace("[0,8]", "[8,16]") + "}", 16, "duplicate tensor name 't'");

    [Fact]
    public void Duplicate_metadata() =>
        Refused("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate \"__metadata__\" entry");

    [Fact]
    public void Duplicate_metadata_key() =>
        Refused("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "duplicate metadata key 'k'");

    [Fact]
    public void Duplicate_field_in_a_tensor() =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 't' has two dtype fields");

    [Fact]
    public void Non_string_metadata_value() =>
        Refused("{\"__metadata__\":{\"bits\":4}}", 0, "metadata value of 'bits' is a number, not a string");

    [Fact]
    public void Metadata_that_is_not_an_object() =>
        Refused("{\"__metadata__\":[\"a\"]}", 0, "\"__metadata__\" is an array, not an object of strings");

    [Theory]
    [InlineData("-1", "holds -1, not a non-negative integer")]
    [InlineData("2.5", "holds 2.5, not a non-negative integer")]
    [InlineData("2.0", "holds 2.0, not a non-negative integer")]
    [InlineData("2e0", "holds 2e0, not a non-negative integer")]
    [InlineData("\"2\"", "holds a string, not an integer")]
    [InlineData("99999999999999999999", "holds 99999999999999999999, which is too large")]
    public void Bad_numbers_in_a_shape(string dimension, string because) =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[" + dimension + "],\"data_offsets\":[0,8]}}", 8, "tensor 't' shape " + because);

    [Fact]
    public void Negative_offset() =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 0, "tensor 't' data_offsets holds -8");

    [Fact]
    public void Missing_data_offsets() =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, "tensor 't' has no data_offsets");

    [Fact]
    public void Missing_dtype() => Refused("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 't' has no dtype");

    [Fact]
    public void Missing_shape() => Refused("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 't' has no shape");

    [Fact]
    public void Three_data_offsets() =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, "data_offsets has 3 numbers");

    [Fact]
    public void End_before_begin() =>
        Refused("{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "end before they begin");

    [Fact]
    public void Size_that_does_not_match_the_shape() =>
        Refused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "hold 8 bytes but shape [3] of F32 needs 12");

    [Fact]
    public void Sub_byte_tensor_that_is_not_a_whole_number_of_bytes() =>
        Refused("{\"t\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "3 elements of 4-bit F4 are 12 bits, not a whole number of bytes");

    [Fact]
    public void Top_level_value_that_is_not_an_object() => Refused("{\"t\":5}", 0, "entry 't' is a number, not a tensor object");

    [Fact]
    public void Header_that_is_an_array() => Refused("[]", 0, "header does not start with '{'");

    [Fact]
    public void Missing_file()
    {
        string path = _dir.File("absent.safetensors");
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("cannot open", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Error_messages_name_the_tensor_entry_offset()
    {
        string header = "{" + OneF32 + ",\"u\":{\"dtype\":\"Q9\",\"shape\":[],\"data_offsets\":[8,9]}}";
        var e = Refused(header, 9, "unsupported dtype 'Q9'");
        Assert.Equal(8 + header.IndexOf("\"Q9\"", StringComparison.Ordinal), e.Offset);
        Assert.Equal(8 + header.IndexOf("\"u\"", StringComparison.Ordinal),
            Refused(header.Replace("Q9", "F32"), 9, "hold 1 bytes but shape [] of F32 needs 4").Offset);
    }
}
