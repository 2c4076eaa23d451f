using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Core.Tests.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Core.Tests.HuggingFace;

/// <summary>
/// Checkpoint detection when the config is missing, silent or wrong: the tensor layout decides or fills in, the
/// stated config wins a disagreement with a warning, and a malformed config is a ModelFormatException.
/// </summary>
public sealed class HfDetectionTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private HfModelFolder CopyOf(string kind, string name, bool withMetadata)
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector(kind, name), _dir.Path, withMetadata);
        return HfModelFolder.Open(_dir.Path);
    }

    [Theory]
    [InlineData("gptq_b3_g128_asym_act0_512x128", 3, false)]
    [InlineData("gptq_b4_g128_asym_act1_512x128", 4, true)]
    public void Gptq_from_tensor_layout_alone(string name, int bits, bool descAct)
    {
        using var folder = CopyOf("gptq", name, withMetadata: false);
        Assert.Equal(CheckpointKind.Gptq, folder.Checkpoint);
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.Gptq, QuantMethod = "gptq", Bits = bits, GroupSize = 128, DescAct = descAct,
            Source = QuantizationInfo.FromTensorLayout,
        }, folder.Quantization);
        Assert.Empty(folder.Warnings);
    }

    [Fact]
    public void Gptq_from_safetensors_metadata()
    {
        using var folder = CopyOf("gptq", "gptq_b4_g128_asym_act1_512x128", withMetadata: true);
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.Gptq, QuantMethod = "gptq", Bits = 4, GroupSize = 128, DescAct = true, CheckpointFormat = "gptq",
            Source = QuantizationInfo.FromSafetensorsMetadata,
        }, folder.Quantization);
    }

    [Fact]
    public void Awq_gemm_from_tensor_layout_alone()
    {
        using var folder = CopyOf("awq", "awq_gemm_b4_g128_512x256", withMetadata: false);
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.Awq, QuantMethod = "awq", Bits = 4, GroupSize = 128, AwqVersion = "gemm", Source = QuantizationInfo.FromTensorLayout,
        }, folder.Quantization);
    }

    [Fact]
    public void Awq_gemv_from_tensor_layout_alone()
    {
        // GEMV, in = 512, out = 256, group 128: qweight [out, in/8], qzeros [out, W = 1], scales [out, 8W].
        const string p = "model.layers.0.mlp.up_proj.";
        HfFolderBuilder.Shard(_dir.Path, "model.safetensors",
            (p + "qweight", SafetensorsDType.I32, [256, 64]), (p + "qzeros", SafetensorsDType.I32, [256, 1]),
            (p + "scales", SafetensorsDType.F16, [256, 8]), (p + "bias", SafetensorsDType.F16, [256]));
        using var folder = HfModelFolder.Open(_dir.Path);
        var q = folder.Quantization!;
        Assert.Equal((CheckpointKind.Awq, "gemv", 4), (q.Kind, q.AwqVersion, q.Bits));
        Assert.Null(q.GroupSize); // hidden by the GEMV padding
    }

    [Fact]
    public void BitNet_from_tensor_layout_alone()
    {
        using var folder = CopyOf("bitnet", "bitnet_autobitlinear_offline_256x512", withMetadata: false);
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.BitNet, QuantMethod = "bitnet", Bits = 2, Source = QuantizationInfo.FromTensorLayout,
        }, folder.Quantization);
        Assert.Null(folder.Quantization!.BitNetLinearClass); // the scale's direction cannot be seen in the tensors
    }

    [Fact]
    public void Plain_folder_with_config()
    {
        HfFolderBuilder.Text(_dir.Path, "config.json", """{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}""");
        HfFolderBuilder.Shard(_dir.Path, "model.safetensors",
            ("model.embed_tokens.weight", SafetensorsDType.BF16, [8, 4]), ("model.layers.0.self_attn.q_proj.weight", SafetensorsDType.BF16, [4, 4]));
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(CheckpointKind.Plain, folder.Checkpoint);
        Assert.Null(folder.Quantization);
        Assert.Equal("llama", folder.Config!.RootElement.GetProperty("model_type").GetString());
        Assert.Empty(folder.Warnings);
    }

    [Fact]
    public void Stated_kind_wins_over_the_layout_with_a_warning()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("gptq", "gptq_b4_g128_asym_act0_512x128"), _dir.Path, withMetadata: false);
        HfFolderBuilder.Text(_dir.Path, "config.json", """{"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}}""");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(CheckpointKind.Awq, folder.Checkpoint);
        Assert.Contains(folder.Warnings, w => w.Contains("says awq, but the tensors have the Gptq layout"));
    }

    [Fact]
    public void Stated_bits_that_disagree_with_the_shapes_are_warned_about()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("gptq", "gptq_b3_g128_asym_act0_512x128"), _dir.Path, withMetadata: false);
        HfFolderBuilder.Text(_dir.Path, "quantize_config.json", """{"bits": 4, "group_size": 128}""");
        using var folder = HfModelFolder.Open(_dir.Path);
        var q = folder.Quantization!;
        Assert.Equal((CheckpointKind.Gptq, "gptq", 4, "gptq"), (q.Kind, q.QuantMethod, q.Bits, q.CheckpointFormat)); // quant_method implied
        Assert.Contains(folder.Warnings, w => w.Contains("says 4 bits, but the tensor shapes show 3"));
    }

    [Fact]
    public void Unknown_quant_method_is_reported_not_decoded()
    {
        HfFolderBuilder.Shard(_dir.Path, "model.safetensors", ("w", SafetensorsDType.F8_E4M3, [4, 4]), ("w_scale", SafetensorsDType.F32, [1]));
        HfFolderBuilder.Text(_dir.Path, "config.json", """{"quantization_config": {"quant_method": "FP8", "fmt": "e4m3"}}""");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(CheckpointKind.Plain, folder.Checkpoint);
        Assert.Equal("fp8", folder.Quantization!.QuantMethod);
        Assert.Contains(folder.Warnings, w => w.Contains("quant_method 'fp8', which KernelGen does not decode"));
    }

    [Fact]
    public void Config_without_quant_method_lets_the_layout_decide()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("bitnet", "bitnet_autobitlinear_offline_256x512"), _dir.Path, withMetadata: false);
        HfFolderBuilder.Text(_dir.Path, "config.json", """{"quantization_config": {"bits": 2}}""");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(CheckpointKind.BitNet, folder.Checkpoint);
        Assert.Equal(QuantizationInfo.FromTensorLayout, folder.Quantization!.Source);
        Assert.Contains(folder.Warnings, w => w.Contains("without a quant_method"));
    }

    private ModelFormatException Refused(string fileName, string because)
    {
        var e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(_dir.Path).Dispose());
        Assert.Equal(Path.Combine(_dir.Path, fileName), e.FilePath);
        Assert.True(e.Message.Contains(because, StringComparison.Ordinal), $"expected \"{because}\" in: {e.Message}");
        return e;
    }

    [Fact]
    public void Malformed_config_names_the_json_error_position()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("awq", "awq_gemm_b4_g128_512x256"), _dir.Path, withMetadata: true);
        const string config = "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 4096,,\n}";
        HfFolderBuilder.Text(_dir.Path, "config.json", config);
        var e = Refused("config.json", "not valid JSON");
        Assert.Equal(config.IndexOf(",,", StringComparison.Ordinal) + 1, e.Offset);
    }

    [Theory]
    [InlineData("config.json", "[1, 2]", "the JSON root is array, not an object")]
    [InlineData("config.json", """{"quantization_config": {"quant_method": "gptq", "bits": "4"}}""", "quantization_config.bits must be an integer, not string \"4\"")]
    [InlineData("config.json", """{"quantization_config": {"quant_method": "gptq", "bits": 4.5}}""", "quantization_config.bits must be an integer")]
    [InlineData("config.json", """{"quantization_config": "gptq"}""", "quantization_config is string, not an object")]
    [InlineData("config.json", """{"quantization_config": {"quant_method": 3}}""", "quantization_config.quant_method must be a string")]
    [InlineData("quantize_config.json", """{"bits": 4, "desc_act": "yes"}""", "desc_act must be true or false, not string \"yes\"")]
    [InlineData("config.json", "{\"a\": \"\u00ff\"}", "")]
    public void Bad_config_files(string fileName, string content, string because)
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("gptq", "gptq_b4_g128_asym_act0_512x128"), _dir.Path, withMetadata: true);
        HfFolderBuilder.Text(_dir.Path, fileName, content);
        if (because.Length == 0)
        {
            using var folder = HfModelFolder.Open(_dir.Path); // valid UTF-8 non-ASCII text is fine
            return;
        }
        Refused(fileName, because);
    }

    [Fact]
    public void Invalid_utf8_in_config()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("gptq", "gptq_b4_g128_asym_act0_512x128"), _dir.Path, withMetadata: true);
        File.WriteAllBytes(Path.Combine(_dir.Path, "config.json"), [.. "{\"a\": \""u8, 0xC3, .. "\"}"u8]);
        Assert.Equal(7, Refused("config.json", "not valid UTF-8").Offset);
    }

    [Fact]
    public void Byte_order_mark_is_accepted()
    {
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("awq", "awq_gemm_b4_g128_512x256"), _dir.Path, withMetadata: true);
        File.WriteAllBytes(Path.Combine(_dir.Path, "config.json"), [0xEF, 0xBB, 0xBF, .. "{\"model_type\": \"x\"}"u8]);
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal("x", folder.Config!.RootElement.GetProperty("model_type").GetString());
    }

    [Fact]
    public void Corrupted_config_files_open_or_are_refused_cleanly()
    {
        const int seed = 4242;
        var random = new Random(seed);
        HfFolderBuilder.CopyModelOnly(HfFolderBuilder.Vector("awq", "awq_gemm_b4_g128_512x256"), _dir.Path, withMetadata: true);
        byte[] original = File.ReadAllBytes(Path.Combine(HfFolderBuilder.Vector("awq", "awq_gemm_b4_g128_512x256"), "config.json"));
        string path = Path.Combine(_dir.Path, "config.json");
        for (int i = 0; i < 300; i++)
        {
            byte[] bytes = (byte[])original.Clone();
            int at = random.Next(bytes.Length);
            bytes[at] = (byte)random.Next(256);
            File.WriteAllBytes(path, random.Next(4) == 0 ? bytes[..random.Next(bytes.Length)] : bytes);
            try
            {
                HfModelFolder.Open(_dir.Path).Dispose();
            }
            catch (ModelFormatException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, mutation #{i} (byte {at}): {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
