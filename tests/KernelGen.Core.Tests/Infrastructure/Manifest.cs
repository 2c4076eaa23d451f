using System.Text.Json;

namespace KernelGen.Tests.Infrastructure;

/// <summary>One tensor of a model manifest written by the reference tooling (tests/data/models/*.manifest.json).</summary>
public sealed record ManifestTensor(string Name, string Type, long[] Ne, long DataOffset, long Bytes, string Sha256Raw, string? Sha256Dequant);

/// <summary>Reads the manifests that ship with the reference models.</summary>
public static class Manifest
{
    public static IReadOnlyList<ManifestTensor> ReadModel(string manifestPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(manifestPath));
        return ReadTensors(doc.RootElement.GetProperty("tensors"));
    }

    /// <summary>models/quantize/manifest.json: file name → tensors.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<ManifestTensor>> ReadQuantize(string manifestPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(manifestPath));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => ReadTensors(p.Value.GetProperty("tensors")));
    }

    private static IReadOnlyList<ManifestTensor> ReadTensors(JsonElement tensors) => tensors.EnumerateArray().Select(t => new ManifestTensor(
        t.GetProperty("name").GetString()!,
        t.GetProperty("type").GetString()!,
        t.GetProperty("ne").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
        t.GetProperty("data_offset").GetInt64(),
        t.TryGetProperty("n_bytes_raw", out var nb) ? nb.GetInt64() : t.GetProperty("n_bytes").GetInt64(),
        t.GetProperty("sha256_raw").GetString()!,
        t.TryGetProperty("sha256_dequant_f32", out var d) ? d.GetString() : null)).ToList();
}
